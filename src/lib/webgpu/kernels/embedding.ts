/**
 * Token embedding gather: ids [T] u32 → h [T, d] = E[ids] · f32(sqrt(d)).
 * One dispatch per row chunk of E (the 256k-row table may be split, see gemma2/weights.ts).
 */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import type { GpuLinear } from './matmul';
import code from './embedding.wgsl?raw';

/** Threads per workgroup along d (EMBED_THREADS in embedding.wgsl). */
const EMBED_THREADS = 256;

export class EmbeddingKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	constructor(readonly device: GPUDevice) {}

	private kernel(kind: 'f32' | 'q4', scaleF16: boolean): ComputeKernel {
		const key = `${kind}:${scaleF16}`;
		let k = this.kernels.get(key);
		if (!k) {
			k = new ComputeKernel(this.device, {
				label: 'embedding',
				code,
				entryPoint: `embed_${kind}`,
				constants: kind === 'q4' ? { SCALE_F16: scaleF16 ? 1 : 0 } : undefined
			});
			this.kernels.set(key, k);
		}
		return k;
	}

	/** h [T, E.cols] ← E[ids] · normalizer (normalizer defaults to Math.fround(Math.sqrt(d))). */
	encode(
		enc: GPUCommandEncoder,
		ids: GPUBuffer,
		table: GpuLinear,
		h: GPUBuffer,
		T: number,
		normalizer?: number
	): void {
		const d = table.cols;
		const norm = normalizer ?? Math.fround(Math.sqrt(d));
		const kernel = this.kernel(table.kind, table.scaleDtype !== 'f32');
		for (const c of table.chunks) {
			const params = packUniforms([
				['u', T],
				['u', d],
				['u', c.rowStart],
				['u', c.rows],
				['f', norm]
			]);
			const buffers = table.kind === 'f32' ? [ids, c.weight, h] : [ids, c.weight, c.scales!, h];
			kernel.dispatch(enc, buffers, [ceilDiv(d, EMBED_THREADS), T], params);
		}
	}
}
