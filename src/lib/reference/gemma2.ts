/**
 * Gemma-2 forward in float64 — reads like the forward in docs/specs/gemma2.md, one line per step.
 * It is the oracle of the GPU engine's tests and of the engine CLI's parity checks. It is not fast
 * and is not meant to be: use it on tiny models (or a handful of tokens of a larger one).
 */
import { isSlidingLayer } from '../model/config';
import type { Gemma2Weights } from '../model/weights';
import type { LoraModuleParams } from '../lora/tensor-names';
import {
	addInPlace,
	attentionForward,
	embedForward,
	geluGateForward,
	linearForward,
	rmsnormForward,
	ropeForward,
	softcap
} from './ops';

/** Optional low-rank additions y += s·B(A x) per layer and projection (LoRA, unmerged). */
export interface ReferenceLora {
	/** layer → projection → { A [r, in], B [out, r], scale } */
	get(
		layer: number,
		proj: string
	): { A: ArrayLike<number>; B: ArrayLike<number>; r: number; scale: number } | undefined;
}

/** An adapter (anything with PEFT modules, e.g. lora/adapter.ts LoraAdapter) as the forward's LoRA hook. */
export function toReferenceLora(a: { modules: Map<string, LoraModuleParams> }): ReferenceLora {
	const byLayer = new Map<string, LoraModuleParams>();
	for (const m of a.modules.values()) byLayer.set(`${m.layer}/${m.proj}`, m);
	return {
		get(layer, proj) {
			const m = byLayer.get(`${layer}/${proj}`);
			return m && { A: m.A, B: m.B, r: m.r, scale: m.scale };
		}
	};
}

export interface ForwardTrace {
	/** Residual stream entering each layer, [T, d]; the last entry is before the final norm. */
	hidden: Float64Array[];
}

/** ids [T] → logits [T, V] (after the final softcap). */
export function referenceForward(
	w: Gemma2Weights,
	ids: ArrayLike<number>,
	opts: { lora?: ReferenceLora; trace?: ForwardTrace; positions?: 'all' | 'last' } = {}
): Float64Array {
	const c = w.config;
	const T = ids.length;
	const d = c.hiddenSize;
	const H = c.numHeads;
	const KV = c.numKvHeads;
	const hd = c.headDim;

	const proj = (x: Float64Array, layer: number, name: string, rowsT: number) => {
		const weight = w.layers[layer].proj[name as keyof (typeof w.layers)[0]['proj']];
		const y = linearForward(x, weight, rowsT);
		const l = opts.lora?.get(layer, name);
		if (l) {
			const { rows: OUT, cols: IN } = weight;
			for (let t = 0; t < rowsT; t++) {
				const ax = new Float64Array(l.r);
				for (let j = 0; j < l.r; j++) {
					let acc = 0;
					for (let k = 0; k < IN; k++) acc += l.A[j * IN + k] * x[t * IN + k];
					ax[j] = acc;
				}
				for (let n = 0; n < OUT; n++) {
					let acc = 0;
					for (let j = 0; j < l.r; j++) acc += l.B[n * l.r + j] * ax[j];
					y[t * OUT + n] += l.scale * acc;
				}
			}
		}
		return y;
	};

	// 1. h = E[ids] · sqrt(d)
	const h = embedForward(w.embed, ids);

	for (let L = 0; L < c.numLayers; L++) {
		opts.trace?.hidden.push(h.slice());
		const lw = w.layers[L];
		// x = RMSNorm_input(h); q, k, v projections; RoPE on q and k
		const x = rmsnormForward(h, lw.inputNorm, T, d, c.rmsNormEps);
		const q = proj(x, L, 'q_proj', T);
		const k = proj(x, L, 'k_proj', T);
		const v = proj(x, L, 'v_proj', T);
		ropeForward(q, T, H, hd, c.ropeTheta);
		ropeForward(k, T, KV, hd, c.ropeTheta);
		// softcapped, masked (causal + sliding window on even layers) attention
		const { a } = attentionForward(q, k, v, {
			T,
			heads: H,
			kvHeads: KV,
			hd,
			scale: c.queryPreAttnScalar ** -0.5,
			softcap: c.attnSoftcap,
			window: isSlidingLayer(L) ? c.slidingWindow : null
		});
		// h = h + RMSNorm_post_attention(a Woᵀ)
		const o = proj(a, L, 'o_proj', T);
		addInPlace(h, rmsnormForward(o, lw.postAttnNorm, T, d, c.rmsNormEps));
		// h = h + RMSNorm_post_feedforward((gelu_tanh(x Wgᵀ) ⊙ x Wuᵀ) Wdᵀ)
		const x2 = rmsnormForward(h, lw.preFfnNorm, T, d, c.rmsNormEps);
		const g = geluGateForward(proj(x2, L, 'gate_proj', T), proj(x2, L, 'up_proj', T));
		const f = proj(g, L, 'down_proj', T);
		addInPlace(h, rmsnormForward(f, lw.postFfnNorm, T, d, c.rmsNormEps));
	}
	opts.trace?.hidden.push(h.slice());

	// final norm, tied LM head, final softcap (only the rows asked for)
	const rows = opts.positions === 'last' ? 1 : T;
	const hf = rmsnormForward(h.subarray((T - rows) * d), w.finalNorm, rows, d, c.rmsNormEps);
	const logits = linearForward(hf, w.embed, rows);
	for (let i = 0; i < logits.length; i++) logits[i] = softcap(logits[i], c.finalSoftcap);
	return logits;
}

/** Greedy decoding with the reference: recomputes the whole sequence per token (tiny models only). */
export function referenceGenerate(
	w: Gemma2Weights,
	ids: number[],
	maxNewTokens: number,
	stopIds: number[] = [1, 107],
	lora?: ReferenceLora
): number[] {
	const out: number[] = [];
	const seq = [...ids];
	const V = w.config.vocabSize;
	for (let n = 0; n < maxNewTokens; n++) {
		const logits = referenceForward(w, seq, { positions: 'last', lora });
		let best = 0;
		for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
		out.push(best);
		seq.push(best);
		if (stopIds.includes(best)) break;
	}
	return out;
}
