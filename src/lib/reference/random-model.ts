/**
 * Random Gemma-2 weights for tests and benchmarks (no download): seeded, with every knob of the
 * config exercised by the tiny presets below.
 */
import type { Gemma2Config } from '../model/config';
import {
	PROJECTIONS,
	quantizeQ4,
	type Gemma2LayerWeights,
	type Gemma2Weights,
	type Linear,
	type ProjectionName,
	projectionShape
} from '../model/weights';
import { mulberry32 } from '../random';

/** The app's PRNG (mulberry32), under the name the tests know it by. */
export const seededRandom = mulberry32;

/**
 * A tiny config that reaches every Gemma-2 knob: GQA (4 heads over 2 kv heads), heads·hd ≠ hidden,
 * query_pre_attn_scalar ≠ head_dim, a sliding window shorter than test sequences, low softcaps that
 * the random logits actually reach, and an odd layer count so sliding and global layers alternate.
 * Vocabulary ids 0–107 follow Gemma's specials (bos 2, eos 1, <start_of_turn> 106, <end_of_turn> 107).
 */
export const TINY_CONFIG: Gemma2Config = {
	hiddenSize: 64,
	intermediateSize: 128,
	numLayers: 3,
	numHeads: 4,
	numKvHeads: 2,
	headDim: 32,
	vocabSize: 512,
	rmsNormEps: 1e-6,
	ropeTheta: 10000,
	slidingWindow: 4,
	attnSoftcap: 2.0,
	finalSoftcap: 3.0,
	queryPreAttnScalar: 24,
	bosId: 2,
	eosIds: [1, 107],
	padId: 0,
	contextLength: 256
};

/** The real Gemma-2 2B (jpn-it) shapes, for benchmarks with random weights. */
export const GEMMA2_2B_CONFIG: Gemma2Config = {
	hiddenSize: 2304,
	intermediateSize: 9216,
	numLayers: 26,
	numHeads: 8,
	numKvHeads: 4,
	headDim: 256,
	vocabSize: 256000,
	rmsNormEps: 1e-6,
	ropeTheta: 10000,
	slidingWindow: 4096,
	attnSoftcap: 50,
	finalSoftcap: 30,
	queryPreAttnScalar: 224,
	bosId: 2,
	eosIds: [1, 107],
	padId: 0,
	contextLength: 4096
};

/**
 * Random weights in f32 (or quantized to q4 with f16/f32 scales). `std` scales are chosen so the
 * residual stream stays O(1) and the low tiny-config softcaps are reached.
 */
export function randomWeights(
	c: Gemma2Config,
	seed = 1,
	format: 'f32' | 'q4f16' | 'q4f32' = 'f32'
): Gemma2Weights {
	const rnd = seededRandom(seed);
	const normal = () => {
		const u = Math.max(rnd(), 1e-12);
		return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
	};
	const mat = (rows: number, cols: number, std: number): Linear => {
		const data = new Float32Array(rows * cols);
		for (let i = 0; i < data.length; i++) data[i] = normal() * std;
		if (format === 'f32') return { kind: 'f32', rows, cols, data };
		return quantizeQ4(data, rows, cols, format === 'q4f16' ? 'f16' : 'f32');
	};
	const norm = (n: number) => {
		const v = new Float32Array(n);
		for (let i = 0; i < n; i++) v[i] = 1 + 0.2 * normal(); // multiplier form (1 + w)
		return v;
	};
	const layers: Gemma2LayerWeights[] = [];
	for (let L = 0; L < c.numLayers; L++) {
		const proj = {} as Record<ProjectionName, Linear>;
		for (const p of PROJECTIONS) {
			const [rows, cols] = projectionShape(c, p);
			proj[p] = mat(rows, cols, 1 / Math.sqrt(cols));
		}
		const d = c.hiddenSize;
		layers.push({
			inputNorm: norm(d),
			postAttnNorm: norm(d),
			preFfnNorm: norm(d),
			postFfnNorm: norm(d),
			proj
		});
	}
	return {
		config: c,
		embed: mat(c.vocabSize, c.hiddenSize, (1 / Math.sqrt(c.hiddenSize)) * 2),
		layers,
		finalNorm: norm(c.hiddenSize)
	};
}
