/**
 * Token embedding gather: ids [T] u32 → h [T, d] = E[ids] · f32(sqrt(d)).
 * One dispatch per row chunk of E (the 256k-row table may be split, see gemma2/weights.ts).
 */
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import { KernelBindings } from '../kernel-bindings';
import type { GpuLinear } from './matmul';
import embedding from './embedding.wgsl?raw';

/** Threads per workgroup along d (EMBED_THREADS in embedding.wgsl). */
const EMBED_THREADS = 256;

/** embedding.wgsl's Params. */
export const EMBEDDING_PARAMS = new UniformLayout('Params', [
	['T', 'u32'],
	['d', 'u32'],
	['rowStart', 'u32'],
	['rows', 'u32'],
	['normalizer', 'f32']
] as const);

/** embedding.wgsl's bindings: ids, h, the table (and the q4 scales), then the parameters. */
export const EMBEDDING_BINDINGS = new KernelBindings('embedding', {
	embed_f32: { ids: 'read u32', h: 'read_write', table_f32: 'read', p_f32: EMBEDDING_PARAMS },
	embed_q4: {
		ids: 'read u32',
		h: 'read_write',
		table_q4: 'read u32',
		scales: 'read u32',
		p_q4: EMBEDDING_PARAMS
	}
});
const code = EMBEDDING_BINDINGS.wgsl + embedding;

export class EmbeddingKernel {
	/** f32 tables, and q4 tables with f16 or f32 scales (pipelines compile on first use). */
	private readonly kernels: Record<'f32' | 'q4:f16' | 'q4:f32', ComputeKernel>;

	constructor(readonly device: GPUDevice) {
		const make = (entryPoint: string, constants?: Record<string, number>) =>
			new ComputeKernel(device, { label: 'embedding', code, entryPoint, constants });
		this.kernels = {
			f32: make('embed_f32'),
			'q4:f16': make('embed_q4', { SCALE_F16: 1 }),
			'q4:f32': make('embed_q4', { SCALE_F16: 0 })
		};
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
		const kernel =
			this.kernels[table.kind === 'f32' ? 'f32' : table.scaleDtype === 'f32' ? 'q4:f32' : 'q4:f16'];
		for (const c of table.chunks) {
			const params = EMBEDDING_PARAMS.pack({
				T,
				d,
				rowStart: c.rowStart,
				rows: c.rows,
				normalizer: norm
			});
			const buffers =
				table.kind === 'f32'
					? EMBEDDING_BINDINGS.order('embed_f32', { ids, h, table_f32: c.weight })
					: EMBEDDING_BINDINGS.order('embed_q4', { ids, h, table_q4: c.weight, scales: c.scales! });
			kernel.dispatch(enc, buffers, [ceilDiv(d, EMBED_THREADS), T], params);
		}
	}
}
