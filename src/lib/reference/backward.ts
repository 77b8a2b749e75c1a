/**
 * Gemma-2 + LoRA loss and gradients in float64 on the CPU: the oracle of the GPU backward and of
 * the training loop. The forward is the one of ./gemma2.ts, step by step, keeping what the
 * backward needs; the backward walks it in reverse with the ops of ./ops-backward.ts. Slow on
 * purpose; tiny models only.
 *
 * Semantics are transformers' `Gemma2ForCausalLM(labels=…)` + PEFT LoRA (dropout 0):
 * - labels have the length of ids, −100 is ignored, the shift happens inside (logits at t predict
 *   labels[t+1]; labels[0] is never a target);
 * - loss = Σ over supervised targets of cross-entropy on the soft-capped logits / their count;
 *   over gradient accumulation the count is the whole step's (`num_items_in_batch`, ≥ 4.46),
 *   see `referenceAccumulatedLossAndGrads`.
 * Base weights (and norms, embedding) are frozen: gradients exist only for lora_A / lora_B,
 * keyed by PEFT's tensor names.
 */
import { isSlidingLayer } from '../model/config';
import type { Gemma2Weights, ProjectionName } from '../model/weights';
import { loraTensorName, type LoraModuleParams } from '../lora/tensor-names';
import { shiftedTargets, trainerNumItemsInBatch } from '../lora/labels';
import {
	addInPlace,
	attentionForward,
	embedForward,
	geluGateForward,
	linearForward,
	rmsnormForward,
	ropeForward,
	type AttentionShape
} from './ops';
import {
	attentionBackward,
	geluGateBackward,
	linearBackward,
	lmHeadCrossEntropy,
	loraBackward,
	loraForward,
	rmsnormBackward,
	ropeBackward
} from './ops-backward';

/** The LoRA parameters the reference differentiates: anything with a module list (LoraAdapter fits). */
export interface LoraParams {
	modules: Map<string, LoraModuleParams>;
}

export interface LossAndGrads {
	/** Mean cross-entropy over the supervised targets (NaN when there are none, as in torch). */
	loss: number;
	/** Σ of per-target cross-entropy, and the number of supervised targets. */
	lossSum: number;
	count: number;
	/** PEFT tensor name (`base_model.model.model.layers.{i}.….lora_{A|B}.weight`) → gradient. */
	grads: Map<string, Float64Array>;
}

/** Everything the backward of one layer needs from its forward. */
interface LayerCache {
	hIn: Float64Array;
	x: Float64Array;
	q: Float64Array;
	k: Float64Array;
	v: Float64Array;
	p: Float64Array;
	a: Float64Array;
	o: Float64Array;
	hMid: Float64Array;
	x2: Float64Array;
	gate: Float64Array;
	up: Float64Array;
	g: Float64Array;
	f: Float64Array;
	/** A x of each LoRA branch, by projection. */
	ax: Map<ProjectionName, Float64Array>;
}

/**
 * Loss and LoRA gradients of one sequence. ids, labels [T].
 * `normalizer` is what the summed loss is divided by for the gradients (default: this sequence's
 * own count, i.e. grads of `loss`); pass the step's total count to accumulate micro-batches.
 */
export function referenceLossAndGrads(
	w: Gemma2Weights,
	lora: LoraParams,
	ids: ArrayLike<number>,
	labels: ArrayLike<number>,
	opts: { normalizer?: number; lossOnly?: boolean } = {}
): LossAndGrads {
	const c = w.config;
	const T = ids.length;
	if (labels.length !== T) throw new Error(`labels length ${labels.length} ≠ ids length ${T}`);
	const d = c.hiddenSize;
	const H = c.numHeads;
	const KV = c.numKvHeads;
	const hd = c.headDim;

	const byLayer = new Map<string, LoraModuleParams>();
	for (const m of lora.modules.values()) byLayer.set(`${m.layer}/${m.proj}`, m);
	const grads = new Map<string, Float64Array>();
	for (const [, m] of lora.modules) {
		grads.set(loraTensorName(m.layer, m.proj, 'A'), new Float64Array(m.A.length));
		grads.set(loraTensorName(m.layer, m.proj, 'B'), new Float64Array(m.B.length));
	}

	const attnShape = (L: number): AttentionShape => ({
		T,
		heads: H,
		kvHeads: KV,
		hd,
		scale: c.queryPreAttnScalar ** -0.5,
		softcap: c.attnSoftcap,
		window: isSlidingLayer(L) ? c.slidingWindow : null
	});

	// y = x Wᵀ (+ s·B(A x)), keeping A x for the backward
	const proj = (x: Float64Array, L: number, name: ProjectionName, cache: LayerCache) => {
		const weight = w.layers[L].proj[name];
		const y = linearForward(x, weight, T);
		const l = byLayer.get(`${L}/${name}`);
		if (l) cache.ax.set(name, loraForward(x, l, weight.cols, weight.rows, T, y));
		return y;
	};
	// dx = dy W (+ s·(dy B) A), accumulating dA, dB
	const projBackward = (
		dy: Float64Array,
		L: number,
		name: ProjectionName,
		x: Float64Array,
		cache: LayerCache
	) => {
		const weight = w.layers[L].proj[name];
		const dx = linearBackward(dy, weight, T);
		const l = byLayer.get(`${L}/${name}`);
		if (l) {
			const dA = grads.get(loraTensorName(L, name, 'A'))!;
			const dB = grads.get(loraTensorName(L, name, 'B'))!;
			loraBackward(dy, x, cache.ax.get(name)!, l, weight.cols, weight.rows, T, dA, dB, dx);
		}
		return dx;
	};

	// ---------------- forward (as in gemma2.ts, keeping activations) ----------------
	// 1. h = E[ids] · sqrt(d)
	const h = embedForward(w.embed, ids);
	const caches: LayerCache[] = [];
	for (let L = 0; L < c.numLayers; L++) {
		const lw = w.layers[L];
		const cache = { hIn: h.slice(), ax: new Map() } as LayerCache;
		// x = RMSNorm_input(h); q, k, v; RoPE on q and k
		cache.x = rmsnormForward(h, lw.inputNorm, T, d, c.rmsNormEps);
		cache.q = proj(cache.x, L, 'q_proj', cache);
		cache.k = proj(cache.x, L, 'k_proj', cache);
		cache.v = proj(cache.x, L, 'v_proj', cache);
		ropeForward(cache.q, T, H, hd, c.ropeTheta);
		ropeForward(cache.k, T, KV, hd, c.ropeTheta);
		const { a, p } = attentionForward(cache.q, cache.k, cache.v, attnShape(L));
		cache.a = a;
		cache.p = p;
		// h = h + RMSNorm_post_attention(a Woᵀ)
		cache.o = proj(a, L, 'o_proj', cache);
		addInPlace(h, rmsnormForward(cache.o, lw.postAttnNorm, T, d, c.rmsNormEps));
		cache.hMid = h.slice();
		// h = h + RMSNorm_post_feedforward((gelu_tanh(x2 Wgᵀ) ⊙ x2 Wuᵀ) Wdᵀ)
		cache.x2 = rmsnormForward(h, lw.preFfnNorm, T, d, c.rmsNormEps);
		cache.gate = proj(cache.x2, L, 'gate_proj', cache);
		cache.up = proj(cache.x2, L, 'up_proj', cache);
		cache.g = geluGateForward(cache.gate, cache.up);
		cache.f = proj(cache.g, L, 'down_proj', cache);
		addInPlace(h, rmsnormForward(cache.f, lw.postFfnNorm, T, d, c.rmsNormEps));
		caches.push(cache);
	}

	// final norm, tied LM head, final softcap, cross-entropy — only at supervised positions
	const { positions, targets } = shiftedTargets(labels);
	const count = positions.length;
	const normalizer = opts.normalizer ?? count;
	const R = positions.length;
	const hLast = new Float64Array(R * d);
	for (let r = 0; r < R; r++)
		hLast.set(h.subarray(positions[r] * d, (positions[r] + 1) * d), r * d);
	const hf = rmsnormForward(hLast, w.finalNorm, R, d, c.rmsNormEps);
	const gradScale = normalizer > 0 ? 1 / normalizer : 0;
	const { lossSum, dhf } = lmHeadCrossEntropy(hf, w.embed, c.finalSoftcap, targets, gradScale);
	const loss = lossSum / count; // 0/0 = NaN with no supervised target, as torch's mean
	if (opts.lossOnly) return { loss, lossSum, count, grads };

	// ---------------- backward ----------------
	// `hf = RMSNorm_final(h)` at the supervised rows; other rows get no gradient from the loss
	const dhRows = rmsnormBackward(dhf, hLast, w.finalNorm, R, d, c.rmsNormEps);
	const dh = new Float64Array(T * d);
	for (let r = 0; r < R; r++)
		for (let j = 0; j < d; j++) dh[positions[r] * d + j] += dhRows[r * d + j];

	for (let L = c.numLayers - 1; L >= 0; L--) {
		const lw = w.layers[L];
		const cache = caches[L];
		// `h = hMid + RMSNorm_post_ffn(f)`: the residual passes dh to hMid unchanged
		const df = rmsnormBackward(dh, cache.f, lw.postFfnNorm, T, d, c.rmsNormEps);
		// `f = g Wdᵀ (+ LoRA)`
		const dg = projBackward(df, L, 'down_proj', cache.g, cache);
		// `g = gelu_tanh(gate) ⊙ up`
		const { dgate, dup } = geluGateBackward(dg, cache.gate, cache.up);
		// `gate = x2 Wgᵀ`, `up = x2 Wuᵀ`: x2 feeds both, its gradient is the sum
		const dx2 = projBackward(dgate, L, 'gate_proj', cache.x2, cache);
		addInPlace(dx2, projBackward(dup, L, 'up_proj', cache.x2, cache));
		// `x2 = RMSNorm_pre_ffn(hMid)`, added to the residual gradient
		addInPlace(dh, rmsnormBackward(dx2, cache.hMid, lw.preFfnNorm, T, d, c.rmsNormEps));
		// `hMid = hIn + RMSNorm_post_attn(o)`
		const dout = rmsnormBackward(dh, cache.o, lw.postAttnNorm, T, d, c.rmsNormEps);
		// `o = a Woᵀ (+ LoRA)`
		const da = projBackward(dout, L, 'o_proj', cache.a, cache);
		// attention (q, k after RoPE), then RoPE back to the projections' outputs
		const { dq, dk, dv } = attentionBackward(da, cache.q, cache.k, cache.v, cache.p, attnShape(L));
		ropeBackward(dq, T, H, hd, c.ropeTheta);
		ropeBackward(dk, T, KV, hd, c.ropeTheta);
		// `q, k, v = x W{q,k,v}ᵀ (+ LoRA)`: x feeds all three
		const dx = projBackward(dq, L, 'q_proj', cache.x, cache);
		addInPlace(dx, projBackward(dk, L, 'k_proj', cache.x, cache));
		addInPlace(dx, projBackward(dv, L, 'v_proj', cache.x, cache));
		// `x = RMSNorm_input(hIn)`; the residual passes dh through to the layer below
		addInPlace(dh, rmsnormBackward(dx, cache.hIn, lw.inputNorm, T, d, c.rmsNormEps));
	}
	// `h = E[ids]·sqrt(d)`: the embedding is frozen, the gradient stops here.
	return { loss, lossSum, count, grads };
}

/**
 * One optimizer step's loss and gradients over several micro-batches (sequences), token-weighted
 * as transformers ≥ 4.46 does with `num_items_in_batch`: loss = Σ of every supervised target's CE
 * over all micro-batches / N, and the gradients are those of that loss (each micro-batch's summed
 * loss is divided by N, not by its own count). N is the Trainer's count by default
 * (`trainerNumItemsInBatch`, unshifted labels) or, with `numItems: 'targets'`, the number of
 * shifted targets. A micro-batch of several padded sequences is the same as those sequences here,
 * since padding is labelled −100.
 */
export function referenceAccumulatedLossAndGrads(
	w: Gemma2Weights,
	lora: LoraParams,
	batches: { ids: ArrayLike<number>; labels: ArrayLike<number> }[],
	opts: { numItems?: 'trainer' | 'targets' } = {}
): LossAndGrads {
	const N =
		opts.numItems === 'targets'
			? batches.reduce((s, b) => s + shiftedTargets(b.labels).positions.length, 0)
			: trainerNumItemsInBatch(batches);
	let lossSum = 0;
	let grads: Map<string, Float64Array> | null = null;
	for (const b of batches) {
		const r = referenceLossAndGrads(w, lora, b.ids, b.labels, { normalizer: N });
		lossSum += r.lossSum;
		if (!grads) grads = r.grads;
		else for (const [k, g] of r.grads) addInPlace(grads.get(k)!, g);
	}
	return { loss: lossSum / N, lossSum, count: N, grads: grads ?? new Map() };
}
