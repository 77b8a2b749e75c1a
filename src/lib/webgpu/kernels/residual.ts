/** Residual add: h [n] += alpha · x [n]. */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import code from './residual.wgsl?raw';

/** Threads per workgroup (ADD_THREADS in residual.wgsl). */
const ADD_THREADS = 256;

/** A 2-D grid covering n elements in groups of `threads`, respecting the per-dimension limit. */
export function grid1d(device: GPUDevice, n: number, threads: number): [number, number] {
	const groups = Math.max(1, ceilDiv(n, threads));
	const gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
	return [gx, ceilDiv(groups, gx)];
}

export class ResidualKernel {
	private readonly forward: ComputeKernel;
	constructor(readonly device: GPUDevice) {
		this.forward = new ComputeKernel(device, {
			label: 'residual',
			code,
			entryPoint: 'residual_forward'
		});
	}

	encode(enc: GPUCommandEncoder, h: GPUBuffer, x: GPUBuffer, n: number, alpha = 1): void {
		const [gx, gy] = grid1d(this.device, n, ADD_THREADS);
		this.forward.dispatch(
			enc,
			[h, x],
			[gx, gy],
			packUniforms([
				['u', n],
				['u', gx],
				['f', alpha]
			])
		);
	}
}
