/**
 * Host-side Gemma-2 weights, as every loader (HF safetensors, MLC shards, fixtures) produces them
 * and as the GPU engine and the CPU reference consume them.
 *
 * Conventions (one for all sources, so no kernel has to know where a model came from):
 * - Linear weights are [out, in] row-major (y = x Wᵀ), like PyTorch's nn.Linear.
 * - Norm vectors are MULTIPLIERS: HF's `1 + w` is added by the HF loader; MLC stores it already.
 * - The embedding is tied: it is also the LM head (unscaled).
 * - Fused MLC tensors (qkv_proj, gate_up_proj) are split into their per-module row slices.
 */
import type { Gemma2Config } from './config';

/** Full-precision linear weight [rows = out, cols = in]. */
export interface F32Linear {
	kind: 'f32';
	rows: number;
	cols: number;
	data: Float32Array;
}

/**
 * MLC group quantization, group 32 along `cols` (the reduction axis):
 * qweight [rows, cols/8] u32 (8 nibbles per word, lowest bits first), scales [rows, cols/32];
 * w = (q − 7) · scale. Scales are f16 bit patterns (q4f16_1) or f32 (q4f32_1).
 */
export interface Q4Linear {
	kind: 'q4';
	rows: number;
	cols: number;
	qweight: Uint32Array;
	scales: { dtype: 'f16'; bits: Uint16Array } | { dtype: 'f32'; data: Float32Array };
}

export type Linear = F32Linear | Q4Linear;

export type ProjectionName =
	'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

export const PROJECTIONS: readonly ProjectionName[] = [
	'q_proj',
	'k_proj',
	'v_proj',
	'o_proj',
	'gate_proj',
	'up_proj',
	'down_proj'
];

export interface Gemma2LayerWeights {
	inputNorm: Float32Array;
	postAttnNorm: Float32Array;
	preFfnNorm: Float32Array;
	postFfnNorm: Float32Array;
	/** q [H·hd, d], k/v [KV·hd, d], o [d, H·hd], gate/up [I, d], down [d, I] */
	proj: Record<ProjectionName, Linear>;
}

export interface Gemma2Weights {
	config: Gemma2Config;
	/** [vocab, d]; also the LM head. */
	embed: Linear;
	layers: Gemma2LayerWeights[];
	finalNorm: Float32Array;
}

/** Row n of a linear weight as f32 (dequantized for q4). */
export function linearRow(w: Linear, n: number, out = new Float32Array(w.cols)): Float32Array {
	if (w.kind === 'f32') {
		out.set(w.data.subarray(n * w.cols, (n + 1) * w.cols));
		return out;
	}
	const wordsPerRow = w.cols / 8;
	const groupsPerRow = w.cols / 32;
	for (let k = 0; k < w.cols; k++) {
		const word = w.qweight[n * wordsPerRow + (k >> 3)];
		const q = (word >>> (4 * (k & 7))) & 0xf;
		const s = scaleAt(w, n * groupsPerRow + (k >> 5));
		out[k] = (q - 7) * s;
	}
	return out;
}

export function scaleAt(w: Q4Linear, i: number): number {
	return w.scales.dtype === 'f32' ? w.scales.data[i] : f16ToF32(w.scales.bits[i]);
}

/** IEEE half → float. */
export function f16ToF32(h: number): number {
	const s = h & 0x8000 ? -1 : 1;
	const e = (h >> 10) & 0x1f;
	const f = h & 0x3ff;
	if (e === 0) return s * f * 2 ** -24;
	if (e === 31) return f ? NaN : s * Infinity;
	return s * (1 + f / 1024) * 2 ** (e - 15);
}

const F16_SCRATCH = new Float32Array(1);
const F16_SCRATCH_BITS = new Uint32Array(F16_SCRATCH.buffer);

/** float → IEEE half bits, round to nearest even. (One scratch buffer: no allocation per call.) */
export function f32ToF16(v: number): number {
	F16_SCRATCH[0] = v;
	const x = F16_SCRATCH_BITS[0];
	const sign = (x >>> 16) & 0x8000;
	let exp = ((x >>> 23) & 0xff) - 127 + 15;
	let mant = x & 0x7fffff;
	if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
	if (exp >= 31) return sign | 0x7c00;
	if (exp <= 0) {
		if (exp < -10) return sign;
		mant |= 0x800000;
		const shift = 14 - exp;
		let half = mant >>> shift;
		const rem = mant & ((1 << shift) - 1);
		const mid = 1 << (shift - 1);
		if (rem > mid || (rem === mid && half & 1)) half++;
		return sign | half;
	}
	let half = (exp << 10) | (mant >>> 13);
	const rem = mant & 0x1fff;
	if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
	return sign | half;
}

/**
 * Quantize an f32 [rows, cols] matrix the MLC way: scale = max|w_group| / 7,
 * q = clamp(round(w/scale + 7), 0, 14). Scales are rounded to f16 first when `scaleDtype` is f16,
 * and q is computed against the rounded scale, so dequantization is exactly what the file says.
 */
export function quantizeQ4(
	data: Float32Array,
	rows: number,
	cols: number,
	scaleDtype: 'f16' | 'f32' = 'f16'
): Q4Linear {
	if (cols % 32 !== 0) throw new Error(`quantizeQ4: cols ${cols} is not a multiple of 32`);
	const qweight = new Uint32Array((rows * cols) / 8);
	const groups = (rows * cols) / 32;
	const scalesF32 = new Float32Array(groups);
	const bits = new Uint16Array(groups);
	for (let g = 0; g < groups; g++) {
		let amax = 0;
		for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(data[g * 32 + j]));
		let s = amax / 7;
		if (scaleDtype === 'f16') {
			bits[g] = f32ToF16(s);
			s = f16ToF32(bits[g]);
		} else s = Math.fround(s);
		scalesF32[g] = s;
		for (let j = 0; j < 32; j++) {
			const k = g * 32 + j;
			const q = s === 0 ? 7 : Math.min(14, Math.max(0, Math.round(data[k] / s + 7)));
			qweight[k >> 3] |= q << (4 * (k & 7));
		}
	}
	return {
		kind: 'q4',
		rows,
		cols,
		qweight,
		scales: scaleDtype === 'f16' ? { dtype: 'f16', bits } : { dtype: 'f32', data: scalesF32 }
	};
}

/** Rows [start, start+count) of a linear weight, sharing storage (used to split fused MLC tensors). */
export function sliceRows(w: Linear, start: number, count: number): Linear {
	if (w.kind === 'f32')
		return { ...w, rows: count, data: w.data.subarray(start * w.cols, (start + count) * w.cols) };
	const wpr = w.cols / 8;
	const gpr = w.cols / 32;
	return {
		...w,
		rows: count,
		qweight: w.qweight.subarray(start * wpr, (start + count) * wpr),
		scales:
			w.scales.dtype === 'f16'
				? { dtype: 'f16', bits: w.scales.bits.subarray(start * gpr, (start + count) * gpr) }
				: { dtype: 'f32', data: w.scales.data.subarray(start * gpr, (start + count) * gpr) }
	};
}

/** [rows = out, cols = in] of each projection of a Gemma-2 layer. */
export function projectionShape(c: Gemma2Config, p: ProjectionName): [rows: number, cols: number] {
	const d = c.hiddenSize;
	switch (p) {
		case 'q_proj':
			return [c.numHeads * c.headDim, d];
		case 'k_proj':
		case 'v_proj':
			return [c.numKvHeads * c.headDim, d];
		case 'o_proj':
			return [d, c.numHeads * c.headDim];
		case 'gate_proj':
		case 'up_proj':
			return [c.intermediateSize, d];
		case 'down_proj':
			return [d, c.intermediateSize];
	}
}
