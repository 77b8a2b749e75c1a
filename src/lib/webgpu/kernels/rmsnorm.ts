/**
 * RMSNorm (multiplier form): x [T, C] → y [T, C] = x · rsqrt(mean(x²) + eps) · w, or y += that.
 * x and y must be different buffers. `encodeBackward` is its gradient with respect to x (the norm
 * weight is frozen): dy, x → dx, or dx += that.
 */
import { ComputeKernel, packUniforms } from '../kernel';
import code from './rmsnorm.wgsl?raw';

/** From this many rows on, a row gets 64 threads instead of 256 (RMS_THREADS in rmsnorm.wgsl). */
const MANY_ROWS = 16;

export class RmsNormKernel {
	/** [few rows (256 threads per row), many rows (64)] */
	private readonly forward: [ComputeKernel, ComputeKernel];
	private readonly backward: [ComputeKernel, ComputeKernel];
	private readonly maxWorkgroups: number;
	constructor(readonly device: GPUDevice) {
		const kernel = (entryPoint: string, RMS_THREADS: number) =>
			new ComputeKernel(device, { label: 'rmsnorm', code, entryPoint, constants: { RMS_THREADS } });
		this.forward = [kernel('rmsnorm_forward', 256), kernel('rmsnorm_forward', 64)];
		this.backward = [kernel('rmsnorm_backward', 256), kernel('rmsnorm_backward', 64)];
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	encode(
		enc: GPUCommandEncoder,
		x: GPUBuffer | GPUBufferBinding,
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
		this.forward[T >= MANY_ROWS ? 1 : 0].dispatch(enc, [x, w, y], [T], params);
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
		this.backward[T >= MANY_ROWS ? 1 : 0].dispatch(enc, [dy, x, w, dx], [T], params);
	}
}
