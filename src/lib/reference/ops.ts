/**
 * Gemma-2 operations in float64 on the CPU: the clean, minimal reference. It is slow on purpose and
 * written to be read beside docs/specs/gemma2.md; the WGSL kernels in src/lib/webgpu make it fast,
 * and every GPU test compares them against these functions.
 *
 * Layout: activations are row-major Float64Array, one row per token ([T, C]).
 */
import { linearRow, type Linear } from '../model/weights';

export const GELU_K = 0.7978845608028654; // sqrt(2/π)

/** x [T, C] → y [T, C]: y = x · rsqrt(mean(x²) + eps) · scale (scale already holds HF's 1 + w). */
export function rmsnormForward(
	x: Float64Array,
	scale: ArrayLike<number>,
	T: number,
	C: number,
	eps: number
): Float64Array {
	const y = new Float64Array(T * C);
	for (let t = 0; t < T; t++) {
		let ss = 0;
		for (let c = 0; c < C; c++) ss += x[t * C + c] ** 2;
		const r = 1 / Math.sqrt(ss / C + eps);
		for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * r * scale[c];
	}
	return y;
}

/** x [T, IN], weight [OUT, IN] → y [T, OUT] = x Wᵀ. q4 weights are dequantized exactly. */
export function linearForward(x: Float64Array, w: Linear, T: number): Float64Array {
	const { rows: OUT, cols: IN } = w;
	const y = new Float64Array(T * OUT);
	forEachWeightRow(w, (n, row) => {
		for (let t = 0; t < T; t++) {
			let acc = 0;
			for (let k = 0; k < IN; k++) acc += x[t * IN + k] * row[k];
			y[t * OUT + n] = acc;
		}
	});
	return y;
}

/**
 * Each row n of w, dequantized exactly (one f32 buffer, reused), in row order: what the linear
 * forward and backward both read, so they can never see different weights.
 */
export function forEachWeightRow(w: Linear, visit: (n: number, row: Float32Array) => void): void {
	const row = new Float32Array(w.cols);
	for (let n = 0; n < w.rows; n++) visit(n, linearRow(w, n, row));
}

/** ids [T] → h [T, d] = E[ids] · sqrt(d). HF casts the normalizer to the activation dtype (f32). */
export function embedForward(embed: Linear, ids: ArrayLike<number>): Float64Array {
	const d = embed.cols;
	const h = new Float64Array(ids.length * d);
	const row = new Float32Array(d);
	const normalizer = Math.fround(Math.sqrt(d));
	for (let t = 0; t < ids.length; t++) {
		if (ids[t] < 0 || ids[t] >= embed.rows) throw new Error(`token id ${ids[t]} out of range`);
		linearRow(embed, ids[t], row);
		for (let c = 0; c < d; c++) h[t * d + c] = row[c] * normalizer;
	}
	return h;
}

/**
 * The RoPE angle of pair k at position pos, exactly as HF computes it in float32: inv_freq =
 * 1 / theta^(arange(0, hd, 2) / hd) in f32, and the angle as the f32 product inv_freq @ positions.
 * Shared by the forward and the backward so the two can never rotate by different angles.
 */
export function ropeAngle(pos: number, k: number, hd: number, theta: number): number {
	const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * k) / hd)));
	return Math.fround(pos * invFreq);
}

/**
 * RoPE in place on x [T, heads, hd], non-interleaved halves: the pair is (x[k], x[k + hd/2]),
 * angle = pos · theta^(−2k/hd); x' = x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x2, x1).
 */
export function ropeForward(
	x: Float64Array,
	T: number,
	heads: number,
	hd: number,
	theta: number,
	pos0 = 0
): void {
	ropeRotate(x, T, heads, hd, theta, pos0, 1);
}

/**
 * The RoPE rotation in place with the sine's sign `sign`: +1 is the forward; −1 rotates by −θ, the
 * transpose (ops-backward.ropeBackward), as rope.wgsl's `rotate` does with its `sign`.
 */
export function ropeRotate(
	x: Float64Array,
	T: number,
	heads: number,
	hd: number,
	theta: number,
	pos0: number,
	sign: 1 | -1
): void {
	const half = hd / 2;
	for (let t = 0; t < T; t++) {
		for (let k = 0; k < half; k++) {
			const ang = ropeAngle(pos0 + t, k, hd, theta);
			const c = Math.cos(ang);
			const s = sign * Math.sin(ang);
			for (let h = 0; h < heads; h++) {
				const base = (t * heads + h) * hd;
				const x1 = x[base + k];
				const x2 = x[base + k + half];
				x[base + k] = x1 * c - x2 * s;
				x[base + k + half] = x2 * c + x1 * s;
			}
		}
	}
}

/** c·tanh(z/c); identity when cap is null. */
export function softcap(z: number, cap: number | null): number {
	return cap === null ? z : cap * Math.tanh(z / cap);
}

export interface AttentionShape {
	T: number;
	heads: number;
	kvHeads: number;
	hd: number;
	/** scaling = queryPreAttnScalar^-0.5 */
	scale: number;
	softcap: number | null;
	/** null = global (causal only); else keys j with j > i − window are visible. */
	window: number | null;
}

/**
 * q [T, H, hd], k/v [T, KV, hd] → a [T, H·hd]. Query head h reads kv head floor(h / (H/KV)).
 * s = softcap(q·k · scale), THEN the mask, then softmax over visible keys, a = p·v.
 * Also returns p [H, T, T] (zeros where masked) for the backward and for tests.
 */
export function attentionForward(
	q: Float64Array,
	k: Float64Array,
	v: Float64Array,
	sh: AttentionShape
): { a: Float64Array; p: Float64Array } {
	const { T, heads: H, kvHeads: KV, hd } = sh;
	const group = H / KV;
	const a = new Float64Array(T * H * hd);
	const p = new Float64Array(H * T * T);
	const s = new Float64Array(T);
	for (let h = 0; h < H; h++) {
		const kvh = Math.floor(h / group);
		for (let i = 0; i < T; i++) {
			let max = -Infinity;
			const lo = sh.window === null ? 0 : Math.max(0, i - sh.window + 1);
			for (let j = lo; j <= i; j++) {
				let dot = 0;
				for (let c = 0; c < hd; c++) dot += q[(i * H + h) * hd + c] * k[(j * KV + kvh) * hd + c];
				s[j] = softcap(dot * sh.scale, sh.softcap);
				if (s[j] > max) max = s[j];
			}
			let sum = 0;
			for (let j = lo; j <= i; j++) {
				s[j] = Math.exp(s[j] - max);
				sum += s[j];
			}
			for (let j = lo; j <= i; j++) {
				const pij = s[j] / sum;
				p[(h * T + i) * T + j] = pij;
				for (let c = 0; c < hd; c++) a[(i * H + h) * hd + c] += pij * v[(j * KV + kvh) * hd + c];
			}
		}
	}
	return { a, p };
}

export function geluTanh(x: number): number {
	return 0.5 * x * (1 + Math.tanh(GELU_K * (x + 0.044715 * x * x * x)));
}

/** gate, up [T, I] → gelu_tanh(gate) ⊙ up. */
export function geluGateForward(gate: Float64Array, up: Float64Array): Float64Array {
	const y = new Float64Array(gate.length);
	for (let i = 0; i < gate.length; i++) y[i] = geluTanh(gate[i]) * up[i];
	return y;
}

export function addInPlace(h: Float64Array, x: Float64Array): void {
	for (let i = 0; i < h.length; i++) h[i] += x[i];
}
