/**
 * One Gemma-2 decoder layer's forward, in one place: Gemma2Engine's prefill/scoring/LoRA path
 * (forward.ts) and Gemma2Backward's forward and per-layer recompute (backward.ts) both encode it
 * here, into the buffers they pass (a LayerBuffers record). The engine passes scratch (x2 = x,
 * f = o); the backward passes one buffer per intermediate, which its layer backward then reads.
 *
 *   x = RMSNorm_input(h);  q = x Wqᵀ, k = x Wkᵀ, v = x Wvᵀ;  RoPE(q, k)      (positions pos0..)
 *   a = attention(q, keys) — keys: the KV cache (k, v appended first) or this sequence's own k, v
 *   h += RMSNorm_post_attention(a Woᵀ)                                     (h is now hMid)
 *   x2 = RMSNorm_pre_feedforward(h);  act = gelu_tanh(x2 Wgᵀ) ⊙ x2 Wuᵀ;  f = act Wdᵀ
 *   h += RMSNorm_post_feedforward(f)                 (skipped by the recompute: it needs hMid)
 *
 * The input and output residual streams may be other buffers than h (LayerOptions input, output:
 * the residual adds then write elsewhere, with the same f32 arithmetic), so the backward's
 * forward and recompute read their checkpoints and write the next one without copies.
 *
 * Every projection goes through `project()`: the base matmuls, then the LoRA seam's s·B(A x)
 * (by group of projections sharing x: projection-hook.ts).
 * The fused decode path (forward.ts encodeDecodeLayers) is the same maths with fewer dispatches.
 */
import { isSlidingLayer, type Gemma2Config } from '../../model/config';
import type { ProjectionName } from '../../model/weights';
import type { AttentionKernel, AttentionParams, KvCacheDtype } from '../kernels/attention';
import type { GeluGateKernel } from '../kernels/gelu-gate';
import type { MatmulKernel } from '../kernels/matmul';
import type { RmsNormKernel } from '../kernels/rmsnorm';
import type { RopeKernel } from '../kernels/rope';
import type { KvCache } from './kv-cache';
import { encodeBranches } from './projection-hook';
import type { Gemma2GpuWeights } from './weights';

/** Where a projection is encoded: the command encoder (inside an open pass), layer, projection. */
export type ProjectionSite = [enc: GPUCommandEncoder, layer: number, proj: ProjectionName];

/**
 * The LoRA seam: called after every base projection y = x Wᵀ with the projection's input x
 * [T, in] and output y [T, out]; an implementation encodes y += s·B(A x) (and may keep x for
 * its backward). It is called inside an open compute pass (see beginComputePass in kernel.ts):
 * encode dispatches through ComputeKernel only, no buffer copies.
 */
export interface ProjectionHook {
	encode(...args: [...ProjectionSite, x: GPUBuffer, y: GPUBuffer, T: number]): void;
}

/** The buffers one layer's forward reads and writes ([T, …] rows; h in place). */
export interface LayerBuffers {
	h: GPUBuffer; // [T, d] residual stream: the layer's input, then hMid, then its output
	x: GPUBuffer; // [T, d] RMSNorm_input(h)
	q: GPUBuffer; // [T, H·hd] after RoPE
	k: GPUBuffer; // [T, KV·hd] after RoPE
	v: GPUBuffer; // [T, KV·hd]
	a: GPUBuffer; // [T, H·hd] attention output
	o: GPUBuffer; // [T, d] o_proj output
	x2: GPUBuffer; // [T, d] RMSNorm_pre_feedforward(hMid)
	gate: GPUBuffer; // [T, I]
	up: GPUBuffer; // [T, I]
	act: GPUBuffer; // [T, I] gelu_tanh(gate) ⊙ up
	f: GPUBuffer; // [T, d] down_proj output
}

/** The kernels a layer's forward dispatches (its owner's instances: scratch is per instance). */
export interface LayerKernels {
	matmul: MatmulKernel;
	rmsnorm: RmsNormKernel;
	rope: RopeKernel;
	attention: AttentionKernel;
	geluGate: GeluGateKernel;
}

export interface LayerOptions {
	/** Position of the first row (0 for a whole training sequence). */
	pos0: number;
	/** Attend over this cache (the rows are appended first); absent: over b.k, b.v alone. */
	cache?: KvCache;
	/** Keep each row's softmax statistics here (the attention backward reads them). */
	stats?: GPUBuffer;
	/** Leave h at hMid (the feed-forward's residual add skipped): the backward's recompute. */
	stopAtMid?: boolean;
	/**
	 * The layer's input residual stream, read and left unchanged (b.h then starts at hMid =
	 * input + RMSNorm_post_attention(o)); absent: b.h itself, updated in place. The backward's
	 * checkpoint: its forward and recompute read it with no copy.
	 */
	input?: GPUBuffer;
	/** Where the layer's output goes (b.h + RMSNorm_post_feedforward(f)); absent: b.h in place. */
	output?: GPUBuffer;
}

/** The attention parameters of layer L over T rows at pos0. */
export function attentionParams(
	c: Gemma2Config,
	L: number,
	T: number,
	pos0: number,
	cacheDtype: KvCacheDtype = 'f32'
): AttentionParams {
	return {
		T,
		pos0,
		heads: c.numHeads,
		kvHeads: c.numKvHeads,
		hd: c.headDim,
		scale: c.queryPreAttnScalar ** -0.5,
		softcap: c.attnSoftcap ?? 0,
		window: isSlidingLayer(L) ? c.slidingWindow : 0,
		cacheDtype
	};
}

export class LayerForward {
	constructor(
		private readonly config: Gemma2Config,
		private readonly weights: Gemma2GpuWeights,
		private readonly kernels: LayerKernels,
		/** The LoRA seam in force (read at every projection: the engine's may change). */
		private readonly hook: () => ProjectionHook | null
	) {}

	/**
	 * ys[i] [T, out] = x W_iᵀ (+ the LoRA hook's s·B(A x)) for projections sharing x: the base
	 * matmuls, then the hook (by group where it takes groups, see projection-hook.ts).
	 */
	project(
		...[enc, L, names, x, ys, T]: [
			GPUCommandEncoder,
			number,
			ProjectionName[],
			GPUBuffer,
			GPUBuffer[],
			number
		]
	): void {
		const w = this.weights.layers[L].proj;
		names.forEach((n, i) => this.kernels.matmul.encode(enc, x, w[n], ys[i], T));
		encodeBranches(this.hook(), enc, L, names, x, ys, T);
	}

	/**
	 * Layer L on b.h [T, d] (positions pos0 .. pos0+T−1), in place unless o.input / o.output name
	 * other buffers, inside an open compute pass.
	 */
	encode(enc: GPUCommandEncoder, L: number, T: number, b: LayerBuffers, o: LayerOptions): void {
		const c = this.config;
		const { rmsnorm, rope, attention, geluGate } = this.kernels;
		const lw = this.weights.layers[L];
		const d = c.hiddenSize;
		const eps = c.rmsNormEps;
		const { h, x, q, k, v, a, x2, gate, up, act, f } = b;
		// x = RMSNorm_input(h); q, k, v; RoPE on q and k
		const hIn = o.input ?? h;
		rmsnorm.encode(enc, hIn, lw.inputNorm, x, T, d, eps);
		this.project(enc, L, ['q_proj', 'k_proj', 'v_proj'], x, [q, k, v], T);
		rope.encode(enc, q, T, c.numHeads, c.headDim, c.ropeTheta, o.pos0);
		rope.encode(enc, k, T, c.numKvHeads, c.headDim, c.ropeTheta, o.pos0);
		// a = softmax(mask(softcap(q·kᵀ·scale)))·v over the cache (rows 0 .. pos0+T−1) or k, v
		const { cache, stats } = o;
		cache?.encodeAppend(enc, L, k, v, T);
		const keys = cache ? { k: cache.k(L), v: cache.v(L) } : { k, v };
		const p = attentionParams(c, L, T, o.pos0, cache?.dtype);
		attention.encode(enc, { q, ...keys, out: a, stats }, p);
		// h = h + RMSNorm_post_attention(a Woᵀ)
		this.project(enc, L, ['o_proj'], a, [b.o], T);
		rmsnorm.encode(enc, b.o, lw.postAttnNorm, h, T, d, eps, residualAdd(hIn, h));
		// h = h + RMSNorm_post_feedforward((gelu_tanh(x2 Wgᵀ) ⊙ x2 Wuᵀ) Wdᵀ)
		rmsnorm.encode(enc, h, lw.preFfnNorm, x2, T, d, eps);
		this.project(enc, L, ['gate_proj', 'up_proj'], x2, [gate, up], T);
		geluGate.encode(enc, gate, up, act, T * c.intermediateSize);
		this.project(enc, L, ['down_proj'], act, [f], T);
		if (!o.stopAtMid)
			rmsnorm.encode(enc, f, lw.postFfnNorm, o.output ?? h, T, d, eps, residualAdd(h, o.output));
	}
}

/** The residual add `out = res + RMSNorm(…)`: in place (accumulate) when out is res itself. */
function residualAdd(res: GPUBuffer, out: GPUBuffer = res) {
	return out === res ? { accumulate: true } : { residual: res };
}
