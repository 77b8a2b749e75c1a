/**
 * Final norm + tied LM head + final softcap + cross-entropy, fused over vocabulary blocks, forward
 * and backward — for the supervised rows only (see cross-entropy.wgsl for the maths):
 *
 *   h [R, d] (residual rows whose next token is a target) → hf = RMSNorm_final(h)
 *   → per block of Vb vocabulary rows: z = hf E_blockᵀ [R, Vb] (matmul over a row slice of E)
 *     → online log-sum-exp (forward) / dz = (softmax − onehot)·softcap'·gradScale, dhf += dz E_block
 *   → dh = RMSNorm_final backward (dhf)
 *
 * Never more than R × Vb logits exist (R × V would be 1 MB per row for the 256k vocabulary). The
 * embedding may be split into row chunks (weights.ts); blocks never straddle a chunk, and start at
 * multiples of Vb inside it, so every block is one aligned row slice of one buffer.
 *
 * The backward recomputes each block's logits: a second pass over E instead of storing them.
 */
import { CE_BLOCK_BYTES } from '../gemma2/backward-plan';
import { ComputeKernel, grid1d, UniformLayout } from '../kernel';
import { KernelBindings } from '../kernel-bindings';
import crossEntropy from './cross-entropy.wgsl?raw';
import { MatmulKernel, type GpuLinear } from './matmul';
import { RmsNormKernel } from './rmsnorm';

/** Threads per workgroup (CE_THREADS in cross-entropy.wgsl). */
const CE_THREADS = 256;

/** cross-entropy.wgsl's Params (every entry point). */
export const CROSS_ENTROPY_PARAMS = new UniformLayout('Params', [
	['R', 'u32'],
	['nb', 'u32'],
	['ldz', 'u32'],
	['v0', 'u32'],
	['first', 'u32'],
	['last', 'u32'],
	['cap', 'f32'],
	['gradScale', 'f32'],
	['gridX', 'u32']
] as const);

/** cross-entropy.wgsl's bindings, per entry point (z: one block of logits, then of their gradient). */
export const CROSS_ENTROPY_BINDINGS = new KernelBindings('cross-entropy', {
	ce_forward_block: {
		z: 'read_write',
		targets: 'read u32',
		stats: 'read_write',
		loss: 'read_write',
		p: CROSS_ENTROPY_PARAMS
	},
	ce_backward_block: {
		z: 'read_write',
		targets: 'read u32',
		stats: 'read_write',
		bp: CROSS_ENTROPY_PARAMS
	}
});
const code = CROSS_ENTROPY_BINDINGS.wgsl + crossEntropy;

export interface CrossEntropyBuffers {
	/** [R, d] residual stream rows of the supervised positions (before the final norm). */
	h: GPUBuffer;
	finalNorm: GPUBuffer;
	/** Tied embedding [V, d] (the LM head). */
	embed: GpuLinear;
	/** [R] u32 target ids. */
	targets: GPUBuffer;
	/** Scratch [R, d]: RMSNorm_final(h). */
	hf: GPUBuffer;
	/** Scratch [R, blockRows]: one block of logits (then of their gradient). */
	logits: GPUBuffer;
	/** Scratch [R, 4]: running max, running sum, target logit, log-sum-exp. */
	stats: GPUBuffer;
	/** [R] per-row loss (written by the forward). */
	loss: GPUBuffer;
	/** Scratch [R, d] (backward): ∂/∂hf. */
	dhf: GPUBuffer;
}

export interface CrossEntropyParams {
	eps: number;
	/** final_logit_softcapping; null / 0 = none. */
	cap: number | null;
	/** Vocabulary rows per block (see blockRows). */
	blockRows: number;
}

export class CrossEntropyKernel {
	private readonly forwardBlock: ComputeKernel;
	private readonly backwardBlock: ComputeKernel;
	private readonly matmul: MatmulKernel;
	private readonly rmsnorm: RmsNormKernel;

	constructor(readonly device: GPUDevice) {
		this.forwardBlock = new ComputeKernel(device, {
			label: 'cross-entropy',
			code,
			entryPoint: 'ce_forward_block'
		});
		this.backwardBlock = new ComputeKernel(device, {
			label: 'cross-entropy',
			code,
			entryPoint: 'ce_backward_block'
		});
		this.matmul = new MatmulKernel(device);
		this.rmsnorm = new RmsNormKernel(device);
	}

	/**
	 * Vocabulary rows per block for R rows: as many as fit `budgetBytes` of logits, a multiple of
	 * the embedding's slice alignment, at most the largest chunk.
	 */
	blockRows(embed: GpuLinear, R: number, budgetBytes = CE_BLOCK_BYTES): number {
		const align = this.matmul.rowAlignment(embed);
		const largest = Math.max(...embed.chunks.map((c) => c.rows));
		const fit = Math.floor(budgetBytes / (Math.max(1, R) * 4 * align)) * align;
		return Math.max(align, Math.min(fit, Math.ceil(largest / align) * align));
	}

	/** hf = RMSNorm_final(h); loss [R] = logsumexp(l) − l[target], l = softcap(hf Eᵀ). */
	encodeForward(
		enc: GPUCommandEncoder,
		b: CrossEntropyBuffers,
		R: number,
		p: CrossEntropyParams
	): void {
		if (R === 0) return;
		const d = b.embed.cols;
		this.rmsnorm.encode(enc, b.h, b.finalNorm, b.hf, R, d, p.eps);
		const blocks = this.blocks(b.embed, p.blockRows);
		blocks.forEach(({ start, count }, i) => {
			this.matmul.encode(enc, b.hf, b.embed, b.logits, R, {
				rows: { start, count },
				ldy: p.blockRows
			});
			this.forwardBlock.dispatch(
				enc,
				CROSS_ENTROPY_BINDINGS.order('ce_forward_block', {
					z: b.logits,
					targets: b.targets,
					stats: b.stats,
					loss: b.loss
				}),
				[R],
				this.params(R, count, p, start, i === 0, i === blocks.length - 1, 0, 0)
			);
		});
	}

	/**
	 * After encodeForward on the same buffers: dh [R, d] = ∂(gradScale · Σ_r loss_r)/∂h
	 * (overwritten; dh ≠ h). The logits of each block are recomputed.
	 */
	encodeBackward(
		enc: GPUCommandEncoder,
		b: CrossEntropyBuffers,
		dh: GPUBuffer,
		R: number,
		p: CrossEntropyParams & { gradScale: number }
	): void {
		if (R === 0) return;
		const d = b.embed.cols;
		this.blocks(b.embed, p.blockRows).forEach(({ start, count }, i) => {
			const rows = { start, count };
			this.matmul.encode(enc, b.hf, b.embed, b.logits, R, { rows, ldy: p.blockRows });
			const [gx, gy] = grid1d(this.device, R * count, CE_THREADS);
			this.backwardBlock.dispatch(
				enc,
				CROSS_ENTROPY_BINDINGS.order('ce_backward_block', {
					z: b.logits,
					targets: b.targets,
					stats: b.stats
				}),
				[gx, gy],
				this.params(R, count, p, start, false, false, p.gradScale, gx)
			);
			// `z = hf Eᵀ` (this block's rows) → dhf += dz E_block
			this.matmul.encodeBackward(enc, b.logits, b.embed, b.dhf, R, {
				rows,
				ldy: p.blockRows,
				accumulate: i > 0
			});
		});
		// `hf = RMSNorm_final(h)`
		this.rmsnorm.encodeBackward(enc, b.dhf, b.h, b.finalNorm, dh, R, d, p.eps);
	}

	/** Blocks of ≤ blockRows vocabulary rows, never straddling a chunk of E. */
	private blocks(embed: GpuLinear, blockRows: number): { start: number; count: number }[] {
		const out: { start: number; count: number }[] = [];
		for (const c of embed.chunks)
			for (let local = 0; local < c.rows; local += blockRows)
				out.push({ start: c.rowStart + local, count: Math.min(blockRows, c.rows - local) });
		return out;
	}

	private params(
		R: number,
		nb: number,
		p: CrossEntropyParams,
		v0: number,
		first: boolean,
		last: boolean,
		gradScale: number,
		gridX: number
	): ArrayBuffer {
		return CROSS_ENTROPY_PARAMS.pack({
			R,
			nb,
			ldz: p.blockRows,
			v0,
			first: first ? 1 : 0,
			last: last ? 1 : 0,
			cap: p.cap ?? 0,
			gradScale,
			gridX
		});
	}
}
