import { describe, expect, it } from 'vitest';
import { attentionForward, softcap } from '../../src/lib/reference/ops';
import { referenceForward } from '../../src/lib/reference/gemma2';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';

describe('reference attention', () => {
	it('sliding window excludes the key exactly window positions back', () => {
		const T = 6,
			hd = 2;
		const q = new Float64Array(T * hd).fill(1);
		const k = new Float64Array(T * hd).fill(1);
		const v = new Float64Array(T * hd).map((_, i) => i);
		const { p } = attentionForward(q, k, v, {
			T,
			heads: 1,
			kvHeads: 1,
			hd,
			scale: 1,
			softcap: null,
			window: 3
		});
		// query 5 sees keys 3, 4, 5 only
		expect([...p.subarray(5 * T, 6 * T)].map((x) => +x.toFixed(6))).toEqual(
			[0, 0, 0, 1 / 3, 1 / 3, 1 / 3].map((x) => +x.toFixed(6))
		);
	});
});

describe('reference forward on the tiny config', () => {
	it('reaches the final softcap and gives finite logits', () => {
		const w = randomWeights(TINY_CONFIG, 3);
		const logits = referenceForward(w, [2, 106, 300, 301, 302, 303, 304, 107]);
		expect(logits.length).toBe(8 * TINY_CONFIG.vocabSize);
		let max = 0;
		for (const x of logits) {
			expect(Number.isFinite(x)).toBe(true);
			max = Math.max(max, Math.abs(x));
		}
		expect(max).toBeGreaterThan(0.8 * TINY_CONFIG.finalSoftcap!);
		expect(max).toBeLessThan(TINY_CONFIG.finalSoftcap!);
		expect(softcap(1e9, 3)).toBeCloseTo(3);
	});
});
