import { describe, expect, it } from 'vitest';
import { adamwStep, clipGradNorm, createAdamWState } from '../../src/lib/reference/adamw';

describe('AdamW as torch.optim.AdamW', () => {
	const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

	it('two hand-computed steps: decoupled decay first, bias corrections, eps after the corrected sqrt', () => {
		const params = new Map([['w', new Float64Array([1.0])]]);
		const state = createAdamWState(params);
		// step 1, g = 0.5: p = 1·(1 − 0.001) = 0.999; m = 0.05; v = 0.00025;
		// denom = sqrt(0.00025)/sqrt(0.001) + 1e-8 = 0.5 + 1e-8; p −= (0.1/0.1)·0.05/denom
		adamwStep(params, new Map([['w', [0.5]]]), state, h);
		expect(params.get('w')![0]).toBeCloseTo(0.899000002, 15);
		expect(state.m.get('w')![0]).toBeCloseTo(0.05, 15);
		expect(state.v.get('w')![0]).toBeCloseTo(0.00025, 15);
		// step 2, g = −0.25: m = 0.02, v = 0.00031225, bc1 = 0.19, bc2 = 0.001999
		adamwStep(params, new Map([['w', [-0.25]]]), state, h);
		expect(state.step).toBe(2);
		expect(params.get('w')![0]).toBeCloseTo(0.8714672987058463, 14);
	});

	it('eps is added to sqrt(v)/sqrt(bc2), not inside the sqrt', () => {
		const params = new Map([['w', new Float64Array([0])]]);
		const state = createAdamWState(params);
		adamwStep(params, new Map([['w', [1e-6]]]), state, { ...h, weightDecay: 0 });
		// m̂ = 1e-6, denom = 1e-6 + 1e-8 → update = 0.1 · 1e-6 / 1.01e-6
		expect(params.get('w')![0]).toBeCloseTo(-0.1 / 1.01, 12);
	});

	it('a parameter without a gradient is left alone (torch skips grad = None)', () => {
		const params = new Map([
			['a', new Float64Array([2])],
			['b', new Float64Array([3])]
		]);
		const state = createAdamWState(params);
		adamwStep(params, new Map([['a', [1]]]), state, h);
		expect(params.get('b')![0]).toBe(3);
	});
});

describe('clip_grad_norm_', () => {
	it('clips by max_norm / (total + 1e-6) over all tensors together and returns the pre-clip norm', () => {
		const grads = new Map([
			['a', new Float64Array([3, 4])],
			['b', new Float64Array([12])]
		]);
		expect(clipGradNorm(grads, 1)).toBe(13);
		const c = 1 / (13 + 1e-6);
		expect([...grads.get('a')!]).toEqual([3 * c, 4 * c]);
		expect(grads.get('b')![0]).toBe(12 * c);
	});
	it('leaves gradients untouched when the norm is below max_norm, and when max_norm ≤ 0', () => {
		const grads = new Map([['a', new Float64Array([3, 4])]]);
		expect(clipGradNorm(grads, 20)).toBe(5);
		expect([...grads.get('a')!]).toEqual([3, 4]);
		expect(clipGradNorm(grads, 0)).toBe(5);
		expect([...grads.get('a')!]).toEqual([3, 4]);
	});
});
