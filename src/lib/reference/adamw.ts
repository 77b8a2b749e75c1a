/**
 * AdamW and gradient clipping in float64, exactly as `torch.optim.AdamW` (amsgrad = False,
 * maximize = False, the single-tensor/foreach algorithm) and `torch.nn.utils.clip_grad_norm_`
 * compute them: the oracle of the GPU optimizer. The HF Trainer decays every LoRA tensor
 * (its no-decay list only holds biases and norm weights).
 */

export interface AdamWHyper {
	lr: number;
	beta1: number;
	beta2: number;
	eps: number;
	weightDecay: number;
}

export interface AdamWState {
	/** Steps taken so far (torch's `state['step']`, incremented before use). */
	step: number;
	/** exp_avg and exp_avg_sq, per parameter name. */
	m: Map<string, Float64Array>;
	v: Map<string, Float64Array>;
}

export function createAdamWState(params: Map<string, ArrayLike<number>>): AdamWState {
	const m = new Map<string, Float64Array>();
	const v = new Map<string, Float64Array>();
	for (const [k, p] of params) {
		m.set(k, new Float64Array(p.length));
		v.set(k, new Float64Array(p.length));
	}
	return { step: 0, m, v };
}

/**
 * One AdamW step, in place on `params` (Float64Array or Float32Array; the arithmetic is float64,
 * a Float32Array rounds on store). torch's `_single_tensor_adamw`:
 *   step += 1
 *   p  ← p · (1 − lr·wd)                               decoupled decay, BEFORE the update
 *   m  ← m + (g − m)·(1 − β1)                          exp_avg.lerp_(grad, 1 − β1)
 *   v  ← β2·v + (1 − β2)·g²
 *   bc1 = 1 − β1^step;  bc2 = 1 − β2^step
 *   denom = sqrt(v) / sqrt(bc2) + eps                   eps AFTER the bias-corrected sqrt
 *   p  ← p − (lr / bc1) · m / denom
 * `lr` is the scheduled learning rate of this step.
 */
export function adamwStep(
	params: Map<string, Float64Array | Float32Array>,
	grads: Map<string, ArrayLike<number>>,
	state: AdamWState,
	h: AdamWHyper
): void {
	state.step += 1;
	const bc1 = 1 - h.beta1 ** state.step;
	const bc2 = 1 - h.beta2 ** state.step;
	const stepSize = h.lr / bc1;
	const bc2Sqrt = Math.sqrt(bc2);
	for (const [k, p] of params) {
		const g = grads.get(k);
		if (!g) continue; // torch skips parameters whose grad is None
		const m = state.m.get(k)!;
		const v = state.v.get(k)!;
		for (let i = 0; i < p.length; i++) {
			let pi = p[i] * (1 - h.lr * h.weightDecay);
			m[i] += (g[i] - m[i]) * (1 - h.beta1);
			v[i] = v[i] * h.beta2 + (1 - h.beta2) * g[i] * g[i];
			const denom = Math.sqrt(v[i]) / bc2Sqrt + h.eps;
			pi -= (stepSize * m[i]) / denom;
			p[i] = pi;
		}
	}
}

/**
 * `clip_grad_norm_(params, max_norm)` (norm_type 2), in place on `grads`:
 *   total = ‖(‖g_1‖, ‖g_2‖, …)‖ = sqrt(Σ all g²)
 *   coef  = max_norm / (total + 1e-6), clamped to ≤ 1, and every gradient is multiplied by it
 *           (torch multiplies unconditionally; a factor of exactly 1 changes nothing).
 * Returns the total norm BEFORE clipping (what the Trainer logs as `grad_norm`).
 * The Trainer clips only when max_grad_norm > 0.
 */
export function clipGradNorm(
	grads: Map<string, Float64Array | Float32Array>,
	maxNorm: number
): number {
	let sumSq = 0;
	for (const g of grads.values()) {
		let s = 0;
		for (let i = 0; i < g.length; i++) s += g[i] * g[i];
		sumSq += s; // ‖g_i‖² summed = (norm of the per-tensor norms)²
	}
	const total = Math.sqrt(sumSq);
	if (!(maxNorm > 0)) return total;
	const coef = Math.min(maxNorm / (total + 1e-6), 1);
	if (coef < 1) for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] *= coef;
	return total;
}
