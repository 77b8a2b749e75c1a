/**
 * RMSNorm (multiplier form): x [T, C] → y [T, C] = x · rsqrt(mean(x²) + eps) · w, or y += that.
 * x and y must be different buffers. `encodeBackward` is its gradient with respect to x (the norm
 * weight is frozen): dy, x → dx, or dx += that.
 */
import { ComputeKernel, packUniforms } from '../kernel';
import code from './rmsnorm.wgsl?raw';

export class RmsNormKernel {
	private readonly forward: ComputeKernel;
	private readonly backward: ComputeKernel;
	private readonly maxWorkgroups: number;
	constructor(readonly device: GPUDevice) {
		this.forward = new ComputeKernel(device, {
			label: 'rmsnorm',
			code,
			entryPoint: 'rmsnorm_forward'
		});
		this.backward = new ComputeKernel(device, {
			label: 'rmsnorm',
			code,
			entryPoint: 'rmsnorm_backward'
		});
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	encode(
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		w: GPUBuffer,
		y: GPUBuffer,
		T: number,
		C: number,
		eps: number,
		opts: { accumulate?: boolean } = {}
	): void {
		if (T > this.maxWorkgroups)
			throw new Error(`rmsnorm: ${T} rows exceed one dispatch; chunk the rows`);
		const params = packUniforms([
			['u', T],
			['u', C],
			['f', eps],
			['u', opts.accumulate ? 1 : 0]
		]);
		this.forward.dispatch(enc, [x, w, y], [T], params);
	}

	/**
	 * dy [T, C], x [T, C] (the forward's input), w [C] → dx [T, C] = ∂(dy·y)/∂x, or dx += that
	 * (a residual stream's gradient collecting a branch). dx must differ from dy and x.
	 */
	encodeBackward(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		x: GPUBuffer,
		w: GPUBuffer,
		dx: GPUBuffer,
		T: number,
		C: number,
		eps: number,
		opts: { accumulate?: boolean } = {}
	): void {
		if (T > this.maxWorkgroups)
			throw new Error(`rmsnorm: ${T} rows exceed one dispatch; chunk the rows`);
		const params = packUniforms([
			['u', T],
			['u', C],
			['f', eps],
			['u', opts.accumulate ? 1 : 0]
		]);
		this.backward.dispatch(enc, [dy, x, w, dx], [T], params);
	}
}
