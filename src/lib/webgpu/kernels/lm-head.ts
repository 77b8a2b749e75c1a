/**
 * Final norm + tied LM head + final softcap:
 *
 *   h [R, d] (residual stream rows to score) → x = RMSNorm_final(h) → logits [R, V] = x Eᵀ
 *   → logits = cap · tanh(logits / cap)
 *
 * For a few rows (generation: R = 1) the softcap is the GEMV's epilogue (no dispatch of its own);
 * larger blocks run the tiled matmul and the softcap entry point.
 * E is the (unscaled) embedding, possibly split into vocabulary row chunks; each chunk writes its
 * own column range of the logits. Generation scores only the last position (R = 1); full-sequence
 * scoring (parity tests, the CLI's `forward`) calls this on blocks of rows sized by the caller so
 * R·V·4 bytes stays under the binding limit.
 */
import { ComputeKernel, grid1d, UniformLayout } from '../kernel';
import { KernelBindings } from '../kernel-bindings';
import activations from './activations.wgsl?raw';
import { GEMV_MAX_M, GemvKernel } from './gemv';
import lmHead from './lm-head.wgsl?raw';
import { MatmulKernel, type GpuLinear } from './matmul';
import { RmsNormKernel } from './rmsnorm';

/** lm-head.wgsl's Params. */
export const SOFTCAP_PARAMS = new UniformLayout('Params', [
	['n', 'u32'],
	['gridX', 'u32'],
	['cap', 'f32']
] as const);

/** lm-head.wgsl's bindings. */
export const SOFTCAP_BINDINGS = new KernelBindings('lm-head', {
	softcap_forward: { logits: 'read_write', p: SOFTCAP_PARAMS }
});
const code = SOFTCAP_BINDINGS.wgsl + activations + lmHead;

/** Threads per workgroup (the CAP_THREADS override of lm-head.wgsl). */
const CAP_THREADS = 256;

export class LmHeadKernel {
	private readonly softcap: ComputeKernel;
	private readonly matmul: MatmulKernel;
	private readonly gemv: GemvKernel;
	private readonly rmsnorm: RmsNormKernel;

	constructor(readonly device: GPUDevice) {
		this.softcap = new ComputeKernel(device, {
			label: 'lm-head',
			code,
			entryPoint: 'softcap_forward',
			constants: { CAP_THREADS }
		});
		this.matmul = new MatmulKernel(device);
		this.gemv = new GemvKernel(device);
		this.rmsnorm = new RmsNormKernel(device);
	}

	/** In place: logits [n] = cap · tanh(logits / cap). */
	encodeSoftcap(enc: GPUCommandEncoder, logits: GPUBuffer, n: number, cap: number): void {
		const [gx, gy] = grid1d(this.device, n, CAP_THREADS);
		const buffers = SOFTCAP_BINDINGS.order('softcap_forward', { logits });
		this.softcap.dispatch(enc, buffers, [gx, gy], SOFTCAP_PARAMS.pack({ n, gridX: gx, cap }));
	}

	/**
	 * h [R, d] → logits [R, V]. `normed` is scratch [R, d] for RMSNorm_final(h).
	 * cap = null skips the softcap.
	 */
	encode(
		enc: GPUCommandEncoder,
		args: {
			h: GPUBuffer | GPUBufferBinding;
			normed: GPUBuffer;
			finalNorm: GPUBuffer;
			embed: GpuLinear;
			logits: GPUBuffer;
		},
		R: number,
		eps: number,
		cap: number | null
	): void {
		const d = args.embed.cols;
		this.rmsnorm.encode(enc, args.h, args.finalNorm, args.normed, R, d, eps);
		this.encodeHead(enc, args.normed, args.embed, args.logits, R, cap);
	}

	/** x [R, d] (already normed) → logits [R, V] = softcap(x Eᵀ) (cap = null: no softcap). */
	encodeHead(
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		embed: GpuLinear,
		logits: GPUBuffer,
		R: number,
		cap: number | null
	): void {
		const V = embed.rows;
		if (R <= GEMV_MAX_M) {
			this.gemv.encode(enc, x, embed, logits, R, { ldy: V, softcap: cap ?? undefined });
			return;
		}
		this.matmul.encode(enc, x, embed, logits, R, { ldy: V });
		if (cap !== null) this.encodeSoftcap(enc, logits, R * V, cap);
	}
}
