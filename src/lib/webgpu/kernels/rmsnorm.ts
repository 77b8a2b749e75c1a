/**
 * RMSNorm (multiplier form): x [T, C] → y [T, C] = x · rsqrt(mean(x²) + eps) · w, or y += that.
 * x and y must be different buffers.
 */
import { ComputeKernel, packUniforms } from '../kernel';
import code from './rmsnorm.wgsl?raw';

export class RmsNormKernel {
	private readonly forward: ComputeKernel;
	private readonly maxWorkgroups: number;
	constructor(readonly device: GPUDevice) {
		this.forward = new ComputeKernel(device, {
			label: 'rmsnorm',
			code,
			entryPoint: 'rmsnorm_forward'
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
}
