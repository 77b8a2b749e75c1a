/**
 * Backward twins of the float64 forward ops in ./ops.ts: the clean, minimal reference for LoRA
 * training. Each function differentiates one forward function, quotes the forward line it
 * differentiates, and works on the same layouts (row-major Float64Array, one row per token).
 * The GPU backward kernels are tested against these; they are slow on purpose.
 *
 * Conventions: `d<name>` is ∂loss/∂<name>. Functions return fresh gradient arrays unless they say
 * "accumulates" (then they add into an array the caller owns, because a tensor that feeds several
 * consumers — x feeding q, k and v — receives the sum of their gradients).
 * Base weights are frozen: no function here produces a gradient for W, only for activations and
 * for the LoRA factors A and B.
 */
import type { Linear } from '../model/weights';
import {
	forEachWeightRow,
	GELU_K,
	linearForward,
	ropeRotate,
	softcap,
	type AttentionShape
} from './ops';

/**
 * Softcap backward, elementwise. Forward: `y = c·tanh(z/c)`.
 * dy/dz = 1 − tanh²(z/c) = 1 − (y/c)², so the forward OUTPUT is all we need. No cap: identity.
 */
export function softcapBackward(dy: number, y: number, cap: number | null): number {
	if (cap === null) return dy;
	const t = y / cap;
	return dy * (1 - t * t);
}

/**
 * RMSNorm backward. x, dy [T, C] → dx [T, C].
 * Forward (ops.rmsnormForward): `y[t,c] = x[t,c] · r_t · scale[c]`, r_t = (mean_c x² + eps)^−½,
 * where `scale` is the stored multiplier (HF's 1 + w). The norm is frozen: only dx.
 * With u = dy ⊙ scale: ∂r/∂x_c = −r³·x_c/C, so
 *   dx_c = r·u_c + Σ_k u_k·x_k·(−r³·x_c/C) = r·u_c − (r³/C)·x_c·Σ_k(x_k·u_k).
 */
export function rmsnormBackward(
	dy: Float64Array,
	x: Float64Array,
	scale: ArrayLike<number>,
	T: number,
	C: number,
	eps: number
): Float64Array {
	const dx = new Float64Array(T * C);
	for (let t = 0; t < T; t++) {
		let ss = 0;
		let xu = 0;
		for (let c = 0; c < C; c++) {
			const xi = x[t * C + c];
			ss += xi * xi;
			xu += xi * dy[t * C + c] * scale[c];
		}
		const r = 1 / Math.sqrt(ss / C + eps);
		const k = (r * r * r) / C;
		for (let c = 0; c < C; c++)
			dx[t * C + c] = r * dy[t * C + c] * scale[c] - k * x[t * C + c] * xu;
	}
	return dx;
}

/**
 * Frozen linear backward. dy [T, OUT], weight [OUT, IN] → dx [T, IN] = dy W.
 * Forward (ops.linearForward): `y[t,n] = Σ_k x[t,k]·W[n,k]`, so dx[t,k] = Σ_n dy[t,n]·W[n,k]:
 * the same weight rows, now summed over n instead of k. q4 weights are dequantized exactly as in
 * the forward. No dW: base weights are frozen.
 */
export function linearBackward(dy: Float64Array, w: Linear, T: number): Float64Array {
	const { rows: OUT, cols: IN } = w;
	const dx = new Float64Array(T * IN);
	forEachWeightRow(w, (n, row) => {
		for (let t = 0; t < T; t++) {
			const g = dy[t * OUT + n];
			if (g === 0) continue;
			for (let k = 0; k < IN; k++) dx[t * IN + k] += g * row[k];
		}
	});
	return dx;
}

/** Shapes of one LoRA branch: A [r, IN], B [OUT, r], y += scale · B(A x). */
export interface LoraBranch {
	A: ArrayLike<number>;
	B: ArrayLike<number>;
	r: number;
	scale: number;
}

/**
 * LoRA forward, unmerged, as PEFT's `lora.Linear.forward` computes it (dropout 0):
 * `result = base(x) + lora_B(lora_A(dropout(x))) * scaling`.
 * x [T, IN], accumulates s·B(A x) into y [T, OUT]; returns ax = A x [T, r] for the backward.
 */
export function loraForward(
	x: Float64Array,
	l: LoraBranch,
	IN: number,
	OUT: number,
	T: number,
	y: Float64Array
): Float64Array {
	const { A, B, r, scale } = l;
	const ax = new Float64Array(T * r);
	for (let t = 0; t < T; t++) {
		for (let j = 0; j < r; j++) {
			let acc = 0;
			for (let k = 0; k < IN; k++) acc += A[j * IN + k] * x[t * IN + k];
			ax[t * r + j] = acc;
		}
		for (let n = 0; n < OUT; n++) {
			let acc = 0;
			for (let j = 0; j < r; j++) acc += B[n * r + j] * ax[t * r + j];
			y[t * OUT + n] += scale * acc;
		}
	}
	return ax;
}

/**
 * LoRA backward. dy [T, OUT], x [T, IN], ax = A x [T, r] (from loraForward).
 * Forward: `y += s · B (A x)`. With e = dy B [T, r] (the gradient arriving at A x, before s):
 *   dB[n,j] = s · Σ_t dy[t,n] · ax[t,j]        (dB = s·dyᵀ(Ax))
 *   dA[j,k] = s · Σ_t e[t,j] · x[t,k]          (dA = s·(dy B)ᵀ x)
 *   dx[t,k] += s · Σ_j e[t,j] · A[j,k]         (dx = s·(dy B) A, added to the frozen dy W)
 * Accumulates into dA [r, IN], dB [OUT, r] and dx [T, IN] (the sum over tokens is the reduction).
 */
export function loraBackward(
	dy: Float64Array,
	x: Float64Array,
	ax: Float64Array,
	l: LoraBranch,
	IN: number,
	OUT: number,
	T: number,
	dA: Float64Array,
	dB: Float64Array,
	dx: Float64Array
): void {
	const { A, B, r, scale: s } = l;
	const e = new Float64Array(r);
	for (let t = 0; t < T; t++) {
		e.fill(0);
		for (let n = 0; n < OUT; n++) {
			const g = dy[t * OUT + n];
			for (let j = 0; j < r; j++) {
				e[j] += g * B[n * r + j];
				dB[n * r + j] += s * g * ax[t * r + j];
			}
		}
		for (let j = 0; j < r; j++) {
			const ej = s * e[j];
			for (let k = 0; k < IN; k++) {
				dA[j * IN + k] += ej * x[t * IN + k];
				dx[t * IN + k] += ej * A[j * IN + k];
			}
		}
	}
}

/**
 * RoPE backward, in place on dx [T, heads, hd] (holding dy on entry, dx on return).
 * Forward (ops.ropeForward), per pair (x1, x2) = (x[k], x[k+half]) at angle θ:
 *   `x1' = x1·cos − x2·sin;  x2' = x2·cos + x1·sin`
 * A rotation; its transpose rotates back by −θ:
 *   dx1 = dy1·cos + dy2·sin;  dx2 = dy2·cos − dy1·sin   (= dy·cos + Rᵀ(dy·sin)).
 * The angle is ops.ropeAngle, the forward's own (f32, like HF): ops.ropeRotate with the sign −1.
 */
export function ropeBackward(
	dx: Float64Array,
	T: number,
	heads: number,
	hd: number,
	theta: number,
	pos0 = 0
): void {
	ropeRotate(dx, T, heads, hd, theta, pos0, -1);
}

/**
 * Attention backward. da [T, H·hd]; q [T, H, hd], k/v [T, KV, hd] (q and k AFTER RoPE, as the
 * forward consumed them); p [H, T, T] from attentionForward → dq [T, H, hd], dk/dv [T, KV, hd].
 * Forward (ops.attentionForward), per head h, query i, visible key j (causal, and on sliding
 * layers j > i − window):
 *   z_ij = (q_i·k_j)·scale;  s_ij = softcap(z_ij)  (softcap FIRST, then the mask);
 *   p_ij = softmax_j(s_ij);  a_i = Σ_j p_ij·v_j
 * Backward, in reverse:
 *   `a_i = Σ_j p_ij v_j`     → dp_ij = da_i·v_j;   dv_j += p_ij·da_i
 *   `p = softmax(s)`         → ds_ij = p_ij·(dp_ij − Σ_j' p_ij'·dp_ij')   (masked: p = 0 → ds = 0)
 *   `s = c·tanh(z/c)`        → dz = ds·(1 − (s/c)²)   (s recomputed from q, k)
 *   `z = (q·k)·scale`        → dq_i += dz·scale·k_j;  dk_j += dz·scale·q_i
 * GQA: query heads h = kvh·group … kvh·group+group−1 read kv head kvh, so dk/dv of a kv head is the
 * SUM over the query heads sharing it (the accumulation below does exactly that).
 */
export function attentionBackward(
	da: Float64Array,
	q: Float64Array,
	k: Float64Array,
	v: Float64Array,
	p: Float64Array,
	sh: AttentionShape
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
	const { T, heads: H, kvHeads: KV, hd } = sh;
	const group = H / KV;
	const dq = new Float64Array(T * H * hd);
	const dk = new Float64Array(T * KV * hd);
	const dv = new Float64Array(T * KV * hd);
	const dp = new Float64Array(T);
	for (let h = 0; h < H; h++) {
		const kvh = Math.floor(h / group);
		for (let i = 0; i < T; i++) {
			const lo = sh.window === null ? 0 : Math.max(0, i - sh.window + 1);
			const qi = (i * H + h) * hd;
			// dp_ij = da_i · v_j and dv_j += p_ij · da_i; pdp = Σ_j p_ij dp_ij
			let pdp = 0;
			for (let j = lo; j <= i; j++) {
				const pij = p[(h * T + i) * T + j];
				const vj = (j * KV + kvh) * hd;
				let acc = 0;
				for (let c = 0; c < hd; c++) {
					acc += da[qi + c] * v[vj + c];
					dv[vj + c] += pij * da[qi + c];
				}
				dp[j] = acc;
				pdp += pij * acc;
			}
			for (let j = lo; j <= i; j++) {
				const pij = p[(h * T + i) * T + j];
				const kj = (j * KV + kvh) * hd;
				const ds = pij * (dp[j] - pdp);
				// recompute s_ij = softcap((q_i·k_j)·scale) for the softcap derivative
				let dot = 0;
				for (let c = 0; c < hd; c++) dot += q[qi + c] * k[kj + c];
				const z = dot * sh.scale;
				const s = sh.softcap === null ? z : sh.softcap * Math.tanh(z / sh.softcap);
				const ddot = softcapBackward(ds, s, sh.softcap) * sh.scale;
				for (let c = 0; c < hd; c++) {
					dq[qi + c] += ddot * k[kj + c];
					dk[kj + c] += ddot * q[qi + c];
				}
			}
		}
	}
	return { dq, dk, dv };
}

/**
 * d/dx gelu_tanh(x). Forward: `0.5·x·(1 + t)`, t = tanh(k(x + 0.044715x³)), k = √(2/π):
 *   0.5(1 + t) + 0.5·x·(1 − t²)·k·(1 + 3·0.044715·x²).
 */
export function geluTanhGrad(x: number): number {
	const t = Math.tanh(GELU_K * (x + 0.044715 * x * x * x));
	return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * x * x);
}

/**
 * Gated-GELU backward. dy, gate, up [T, I] → dgate, dup [T, I].
 * Forward (ops.geluGateForward): `y = gelu_tanh(gate) ⊙ up`, so
 *   dup = dy ⊙ gelu_tanh(gate);  dgate = dy ⊙ up ⊙ gelu_tanh'(gate).
 */
export function geluGateBackward(
	dy: Float64Array,
	gate: Float64Array,
	up: Float64Array
): { dgate: Float64Array; dup: Float64Array } {
	const dgate = new Float64Array(gate.length);
	const dup = new Float64Array(gate.length);
	for (let i = 0; i < gate.length; i++) {
		const g = gate[i];
		dup[i] = dy[i] * 0.5 * g * (1 + Math.tanh(GELU_K * (g + 0.044715 * g * g * g)));
		dgate[i] = dy[i] * up[i] * geluTanhGrad(g);
	}
	return { dgate, dup };
}

/**
 * LM head + final softcap + cross-entropy, forward and backward, on the rows that have a target.
 * hf [R, d] (final-normed hidden state of the supervised positions), embed [V, d] (tied head),
 * targets [R] → the SUM of the per-row losses (not the mean: the caller divides by the number of
 * supervised tokens of the whole step) and dhf [R, d] = ∂(sum)/∂hf · gradScale.
 * Forward, per row: `z = hf Eᵀ;  l = c·tanh(z/c);  loss = logsumexp(l) − l[target]`.
 * Backward: dl = softmax(l) − onehot(target);  dz = dl·(1 − (l/c)²);  dhf = dz E.
 * The full V-wide row is held here (float64, tiny models); the GPU does it in vocabulary chunks
 * with an online log-sum-exp, and must agree with this.
 */
export function lmHeadCrossEntropy(
	hf: Float64Array,
	embed: Linear,
	cap: number | null,
	targets: ArrayLike<number>,
	gradScale: number
): { lossSum: number; dhf: Float64Array } {
	const V = embed.rows;
	const R = targets.length;
	// logits for every row: l[r, n] = softcap(hf_r · E_n)
	const l = linearForward(hf, embed, R).map((z) => softcap(z, cap));
	let lossSum = 0;
	const dz = new Float64Array(R * V);
	for (let r = 0; r < R; r++) {
		const y = targets[r];
		if (!(y >= 0 && y < V)) throw new Error(`label ${y} out of range [0, ${V})`);
		let max = -Infinity;
		for (let n = 0; n < V; n++) max = Math.max(max, l[r * V + n]);
		let sum = 0;
		for (let n = 0; n < V; n++) sum += Math.exp(l[r * V + n] - max);
		const lse = max + Math.log(sum);
		lossSum += lse - l[r * V + y];
		for (let n = 0; n < V; n++) {
			const dl = Math.exp(l[r * V + n] - lse) - (n === y ? 1 : 0);
			dz[r * V + n] = softcapBackward(dl, l[r * V + n], cap) * gradScale;
		}
	}
	return { lossSum, dhf: linearBackward(dz, embed, R) };
}
