import { describe, expect, it } from 'vitest';
import type { Gemma2Config } from '../../src/lib/model/config';
import type { F32Linear } from '../../src/lib/model/weights';
import {
	attentionForward,
	geluGateForward,
	linearForward,
	rmsnormForward,
	ropeForward,
	softcap,
	type AttentionShape
} from '../../src/lib/reference/ops';
import {
	attentionBackward,
	geluGateBackward,
	linearBackward,
	lmHeadCrossEntropy,
	loraBackward,
	loraForward,
	rmsnormBackward,
	ropeBackward,
	softcapBackward
} from '../../src/lib/reference/ops-backward';
import {
	referenceAccumulatedLossAndGrads,
	referenceLossAndGrads,
	type LoraParams
} from '../../src/lib/reference/backward';
import { referenceForward, toReferenceLora } from '../../src/lib/reference/gemma2';
import { trainerNumItemsInBatch } from '../../src/lib/lora/labels';
import { randomWeights, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { loraTensorName } from '../../src/lib/lora/tensor-names';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import type { LoraModuleParams } from '../../src/lib/lora/tensor-names';

const rnd = seededRandom(7);
const randn = (n: number, s = 1) => Float64Array.from({ length: n }, () => (rnd() * 2 - 1) * s);

/** Central finite difference of f with respect to x[i]. */
function fd(f: () => number, x: Float64Array, i: number, eps = 1e-5): number {
	const x0 = x[i];
	x[i] = x0 + eps;
	const fp = f();
	x[i] = x0 - eps;
	const fm = f();
	x[i] = x0;
	return (fp - fm) / (2 * eps);
}

function expectGradClose(
	f: () => number,
	x: Float64Array,
	grad: ArrayLike<number>,
	indices?: number[],
	tol = 1e-6
) {
	const idx = indices ?? [...x.keys()];
	let worst = 0;
	for (const i of idx) {
		const num = fd(f, x, i);
		const err = Math.abs(num - grad[i]) / Math.max(1, Math.abs(num));
		worst = Math.max(worst, err);
		if (err > tol) throw new Error(`gradient[${i}]: finite difference ${num}, analytic ${grad[i]}`);
	}
	return worst;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
	let s = 0;
	for (let i = 0; i < a.length; i++) s += a[i] * b[i];
	return s;
};

describe('op backwards match central finite differences', () => {
	it('softcap: dz = dy·(1 − (y/c)²)', () => {
		for (const z of [-4, -0.3, 0, 1.7, 6]) {
			const y = softcap(z, 2.5);
			const num = (softcap(z + 1e-6, 2.5) - softcap(z - 1e-6, 2.5)) / 2e-6;
			expect(softcapBackward(1, y, 2.5)).toBeCloseTo(num, 8);
			expect(softcapBackward(0.7, y, null)).toBe(0.7);
		}
	});

	it('RMSNorm (multiplier form): gradient flows to x only', () => {
		const T = 3,
			C = 5;
		const x = randn(T * C, 2);
		const scale = Float64Array.from({ length: C }, () => 1 + 0.3 * (rnd() - 0.5));
		const R = randn(T * C);
		const f = () => dot(R, rmsnormForward(x, scale, T, C, 1e-6));
		expectGradClose(f, x, rmsnormBackward(R, x, scale, T, C, 1e-6));
	});

	it('linear + LoRA: dx = dy W + s·(dy B) A, dA = s·(dy B)ᵀ x, dB = s·dyᵀ(A x)', () => {
		const T = 3,
			IN = 6,
			OUT = 4,
			r = 2,
			s = 1.75;
		const W: F32Linear = {
			kind: 'f32',
			rows: OUT,
			cols: IN,
			data: Float32Array.from(randn(OUT * IN))
		};
		const x = randn(T * IN);
		const A = randn(r * IN);
		const B = randn(OUT * r);
		const R = randn(T * OUT);
		const f = () => {
			const y = linearForward(x, W, T);
			loraForward(x, { A, B, r, scale: s }, IN, OUT, T, y);
			return dot(R, y);
		};
		const y = linearForward(x, W, T);
		const ax = loraForward(x, { A, B, r, scale: s }, IN, OUT, T, y);
		const dx = linearBackward(R, W, T);
		const dA = new Float64Array(r * IN);
		const dB = new Float64Array(OUT * r);
		loraBackward(R, x, ax, { A, B, r, scale: s }, IN, OUT, T, dA, dB, dx);
		expectGradClose(f, x, dx);
		expectGradClose(f, A, dA);
		expectGradClose(f, B, dB);
	});

	it('RoPE: the backward rotates by −θ', () => {
		const T = 5,
			heads = 2,
			hd = 6;
		const x = randn(T * heads * hd);
		const R = randn(x.length);
		const f = () => {
			const y = x.slice();
			ropeForward(y, T, heads, hd, 10000);
			return dot(R, y);
		};
		const dx = R.slice();
		ropeBackward(dx, T, heads, hd, 10000);
		expectGradClose(f, x, dx);
	});

	it('attention: softcap before the mask, sliding window, GQA sums dK/dV over shared heads', () => {
		const sh: AttentionShape = {
			T: 6,
			heads: 4,
			kvHeads: 2,
			hd: 3,
			scale: 0.7,
			softcap: 1.5,
			window: 3
		};
		const q = randn(sh.T * sh.heads * sh.hd, 2);
		const k = randn(sh.T * sh.kvHeads * sh.hd, 2);
		const v = randn(sh.T * sh.kvHeads * sh.hd);
		const R = randn(sh.T * sh.heads * sh.hd);
		for (const variant of [sh, { ...sh, window: null, softcap: null }]) {
			const f = () => dot(R, attentionForward(q, k, v, variant).a);
			const { p } = attentionForward(q, k, v, variant);
			const { dq, dk, dv } = attentionBackward(R, q, k, v, p, variant);
			expectGradClose(f, q, dq);
			expectGradClose(f, k, dk);
			expectGradClose(f, v, dv);
		}
		// the window really cuts: key 0 gets no gradient from queries ≥ 3, only from 0..2
		const { p } = attentionForward(q, k, v, sh);
		expect(p[(0 * sh.T + 3) * sh.T + 0]).toBe(0);
	});

	it('gelu_tanh gate: dgate = dy·up·gelu′(gate), dup = dy·gelu(gate)', () => {
		const gate = randn(7, 3);
		const up = randn(7);
		const R = randn(7);
		const f = () => dot(R, geluGateForward(gate, up));
		const { dgate, dup } = geluGateBackward(R, gate, up);
		expectGradClose(f, gate, dgate);
		expectGradClose(f, up, dup);
	});

	it('tied LM head + final softcap + cross-entropy: dhf = ((softmax − onehot)·(1 − (l/c)²)) E', () => {
		const d = 5,
			V = 11;
		const E: F32Linear = {
			kind: 'f32',
			rows: V,
			cols: d,
			data: Float32Array.from(randn(V * d, 2))
		};
		const hf = randn(3 * d, 2);
		const targets = [4, 0, 10];
		const f = () => lmHeadCrossEntropy(hf, E, 3, targets, 1).lossSum;
		expectGradClose(f, hf, lmHeadCrossEntropy(hf, E, 3, targets, 1).dhf);
	});
});

/** A 1-layer config that still has GQA, hd·H ≠ d, q-scalar ≠ hd, a short window and reached softcaps. */
const MICRO_CONFIG: Gemma2Config = {
	...TINY_CONFIG,
	hiddenSize: 8,
	intermediateSize: 12,
	numLayers: 1,
	numHeads: 2,
	numKvHeads: 1,
	headDim: 6,
	vocabSize: 40,
	slidingWindow: 3,
	attnSoftcap: 1.0,
	finalSoftcap: 2.0,
	queryPreAttnScalar: 5
};

/** An r = 2 adapter on all seven projections, in float64, with B ≠ 0 so dA is not trivially 0. */
function randomLora(c: Gemma2Config, seed: number): LoraParams {
	const a = createLoraAdapter(
		c,
		{ ...LORA_DEFAULTS, r: 2, lora_alpha: 3, target_modules: [...ALL_PROJECTIONS] },
		seed
	);
	const r = seededRandom(seed + 1);
	const modules = new Map<string, LoraModuleParams>();
	for (const [k, m] of a.modules)
		modules.set(k, {
			...m,
			A: Float64Array.from(m.A),
			B: Float64Array.from({ length: m.B.length }, () => (r() * 2 - 1) * 0.5)
		});
	return { modules };
}

/** HF's loss from the reference forward's logits: shift, ignore −100, mean. */
function lossFromLogits(logits: Float64Array, V: number, labels: number[]): number {
	let sum = 0,
		n = 0;
	for (let t = 0; t + 1 < labels.length; t++) {
		const y = labels[t + 1];
		if (y === -100) continue;
		const row = logits.subarray(t * V, (t + 1) * V);
		const max = Math.max(...row);
		const lse = max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0));
		sum += lse - row[y];
		n++;
	}
	return sum / n;
}

describe('full-model loss and LoRA gradients', () => {
	const ids = [2, 106, 17, 30, 5, 9, 107, 11, 3];
	const labels = [-100, -100, -100, 30, 5, 9, 107, -100, 3];

	it('the loss is HF’s shifted, −100-masked mean CE of the reference forward with the adapter', () => {
		const w = randomWeights(MICRO_CONFIG, 5);
		const lora = randomLora(MICRO_CONFIG, 9);
		const ref = referenceForward(
			w,
			ids.map((i) => i % 40),
			{
				lora: {
					get: (L, p) => [...lora.modules.values()].find((m) => m.layer === L && m.proj === p)
				}
			}
		);
		const r = referenceLossAndGrads(
			w,
			lora,
			ids.map((i) => i % 40),
			labels.map((l) => (l < 0 ? l : l % 40))
		);
		expect(r.count).toBe(5);
		expect(r.loss).toBeCloseTo(
			lossFromLogits(
				ref,
				40,
				labels.map((l) => (l < 0 ? l : l % 40))
			),
			12
		);
		expect(r.grads.size).toBe(14);
		expect([...r.grads.keys()]).toContain(
			'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'
		);
		expect([...r.grads.keys()]).toContain(
			'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight'
		);
	});

	it('1 layer, LoRA r=2 on all seven projections: every A and B entry matches finite differences', () => {
		const w = randomWeights(MICRO_CONFIG, 5);
		const lora = randomLora(MICRO_CONFIG, 9);
		const tok = ids.map((i) => i % 40);
		const lab = labels.map((l) => (l < 0 ? l : l % 40));
		const { grads } = referenceLossAndGrads(w, lora, tok, lab);
		const f = () => referenceLossAndGrads(w, lora, tok, lab, { lossOnly: true }).loss;
		for (const m of lora.modules.values()) {
			expectGradClose(f, m.A as Float64Array, grads.get(loraTensorName(m.layer, m.proj, 'A'))!);
			expectGradClose(f, m.B as Float64Array, grads.get(loraTensorName(m.layer, m.proj, 'B'))!);
		}
	});

	it('3-layer TINY_CONFIG (sliding and global layers): sampled A and B entries match finite differences', () => {
		const w = randomWeights(TINY_CONFIG, 3);
		const lora = randomLora(TINY_CONFIG, 4);
		const tok = [2, 106, 300, 301, 302, 303, 107, 400, 401];
		const lab = [-100, -100, -100, 301, 302, 303, 107, -100, 401];
		const { grads, loss } = referenceLossAndGrads(w, lora, tok, lab);
		expect(Number.isFinite(loss)).toBe(true);
		const f = () => referenceLossAndGrads(w, lora, tok, lab, { lossOnly: true }).loss;
		const pick = seededRandom(11);
		for (const m of lora.modules.values()) {
			for (const which of ['A', 'B'] as const) {
				const x = (which === 'A' ? m.A : m.B) as Float64Array;
				const idx = [0, 1].map(() => Math.floor(pick() * x.length));
				expectGradClose(f, x, grads.get(loraTensorName(m.layer, m.proj, which))!, idx);
			}
		}
	});

	it('q4 base weights: the backward uses the same dequantized rows as the forward', () => {
		const w = randomWeights(TINY_CONFIG, 3, 'q4f16');
		const lora = randomLora(TINY_CONFIG, 4);
		const tok = [2, 106, 300, 301, 302, 107];
		const lab = [-100, -100, 300, 301, 302, 107];
		const { grads } = referenceLossAndGrads(w, lora, tok, lab);
		const f = () => referenceLossAndGrads(w, lora, tok, lab, { lossOnly: true }).loss;
		for (const name of ['model.layers.0.self_attn.k_proj', 'model.layers.2.mlp.gate_proj']) {
			const m = lora.modules.get(name)!;
			expectGradClose(
				f,
				m.A as Float64Array,
				grads.get(loraTensorName(m.layer, m.proj, 'A'))!,
				[1, 17]
			);
			expectGradClose(
				f,
				m.B as Float64Array,
				grads.get(loraTensorName(m.layer, m.proj, 'B'))!,
				[0, 5]
			);
		}
	});

	it('with B = 0 (fresh PEFT init) dA is exactly 0 and dB is not', () => {
		const w = randomWeights(MICRO_CONFIG, 5);
		const a = createLoraAdapter(
			MICRO_CONFIG,
			{ ...LORA_DEFAULTS, r: 2, target_modules: ['q_proj', 'down_proj'] },
			1
		);
		const { grads } = referenceLossAndGrads(w, a, [2, 5, 6, 7], [-100, 5, 6, 7]);
		const dA = grads.get(loraTensorName(0, 'q_proj', 'A'))!;
		const dB = grads.get(loraTensorName(0, 'q_proj', 'B'))!;
		expect(dA.every((x) => x === 0)).toBe(true);
		expect(dB.some((x) => x !== 0)).toBe(true);
		// and the adapted forward equals the base forward
		const base = referenceForward(w, [2, 5, 6, 7]);
		const adapted = referenceForward(w, [2, 5, 6, 7], { lora: toReferenceLora(a) });
		expect([...adapted]).toEqual([...base]);
	});

	it('accumulated micro-batches: loss = Σ CE / Σ count (token-weighted), gradients of that loss', () => {
		const w = randomWeights(MICRO_CONFIG, 5);
		const lora = randomLora(MICRO_CONFIG, 9);
		const batches = [
			{ ids: [2, 5, 6, 7, 8], labels: [-100, -100, 6, 7, 8] }, // 3 targets
			{ ids: [2, 9, 10], labels: [-100, -100, 10] } // 1 target
		];
		const acc = referenceAccumulatedLossAndGrads(w, lora, batches);
		const a = referenceLossAndGrads(w, lora, batches[0].ids, batches[0].labels);
		const b = referenceLossAndGrads(w, lora, batches[1].ids, batches[1].labels);
		expect(acc.count).toBe(4);
		expect(acc.loss).toBeCloseTo((3 * a.loss + 1 * b.loss) / 4, 12);
		expect(acc.loss).not.toBeCloseTo((a.loss + b.loss) / 2, 3); // not the mean of means
		const m = lora.modules.get('model.layers.0.mlp.up_proj')!;
		const f = () =>
			referenceAccumulatedLossAndGrads(
				w,
				lora,
				batches.map((x) => x)
			).loss;
		expectGradClose(
			f,
			m.A as Float64Array,
			acc.grads.get(loraTensorName(0, 'up_proj', 'A'))!,
			[0, 3, 7]
		);
	});

	it('the Trainer’s num_items_in_batch counts unshifted labels: a supervised labels[0] adds one', () => {
		const w = randomWeights(MICRO_CONFIG, 5);
		const lora = randomLora(MICRO_CONFIG, 9);
		const batches = [{ ids: [2, 5, 6, 7], labels: [2, 5, 6, 7] }]; // 3 targets, 4 items
		expect(trainerNumItemsInBatch(batches)).toBe(4);
		const trainer = referenceAccumulatedLossAndGrads(w, lora, batches);
		const targets = referenceAccumulatedLossAndGrads(w, lora, batches, { numItems: 'targets' });
		expect(trainer.count).toBe(4);
		expect(targets.count).toBe(3);
		expect(trainer.loss).toBeCloseTo((targets.loss * 3) / 4, 12);
	});

	it('no supervised target gives NaN loss (torch’s empty mean) and zero gradients', () => {
		const w = randomWeights(MICRO_CONFIG, 5);
		const r = referenceLossAndGrads(w, randomLora(MICRO_CONFIG, 2), [2, 5, 6], [5, -100, -100]);
		expect(r.count).toBe(0);
		expect(Number.isNaN(r.loss)).toBe(true);
		for (const g of r.grads.values()) expect(g.every((x) => x === 0)).toBe(true);
	});
});
