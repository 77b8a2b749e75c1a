import { describe, expect, it } from 'vitest';
import { referenceForward, referenceGenerate } from '../../src/lib/reference/gemma2';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { relErr, testDevice } from './harness';

// 11 tokens: longer than the sliding window (4), so even layers really mask; bos first.
const IDS = [2, 17, 300, 45, 45, 9, 511, 106, 64, 7, 250];
const V = TINY_CONFIG.vocabSize;

function row(a: ArrayLike<number>, t: number): number[] {
	return Array.from({ length: V }, (_, i) => a[t * V + i]);
}

describe('Gemma2Engine forward matches the float64 reference on the tiny model', () => {
	for (const format of ['f32', 'q4f16', 'q4f32'] as const) {
		it(`${format}: forwardLogits [T, V] within 1e-4 of referenceForward (window < T, softcaps reached, GQA)`, async () => {
			const { device } = await testDevice();
			const w = randomWeights(TINY_CONFIG, 5, format);
			const ref = referenceForward(w, IDS);
			// the final softcap (3) is actually reached, so a missing/misplaced cap would show
			expect(ref.some((z) => Math.abs(z) > 2.5)).toBe(true);
			const engine = await Gemma2Engine.create(device, w, { maxTokens: 32 });
			try {
				const got = await engine.forwardLogits(IDS);
				expect(relErr(got, ref)).toBeLessThan(1e-4);
			} finally {
				engine.destroy();
			}
		});
	}

	it('prefill in chunks of 3 (later chunks start at pos0 > 0) gives the same logits as the reference', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 6, 'f32');
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 32, prefillChunk: 3 });
		try {
			expect(relErr(await engine.forwardLogits(IDS), referenceForward(w, IDS))).toBeLessThan(1e-4);
		} finally {
			engine.destroy();
		}
	});

	it('an embedding / LM head split into 6 vocabulary chunks gives the same logits', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 7, 'q4f16');
		const engine = await Gemma2Engine.create(device, w, {
			maxTokens: 32,
			embedSplit: { maxChunkRows: 100 }
		});
		try {
			expect(engine.weights.embed.chunks.length).toBe(6);
			expect(relErr(await engine.forwardLogits(IDS), referenceForward(w, IDS))).toBeLessThan(1e-4);
		} finally {
			engine.destroy();
		}
	});

	it('decoding one token at a time through the KV cache gives the full-sequence logits of each position', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 8, 'f32');
		const full = referenceForward(w, IDS);
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 32 });
		try {
			await engine.prefill(IDS.slice(0, 4));
			expect(relErr(await engine.lastLogits(), row(full, 3))).toBeLessThan(1e-4);
			for (let t = 4; t < IDS.length; t++) {
				await engine.append([IDS[t]]);
				expect(engine.length).toBe(t + 1);
				expect(relErr(await engine.lastLogits(), row(full, t)), `position ${t}`).toBeLessThan(1e-4);
			}
		} finally {
			engine.destroy();
		}
	});

	it('greedy generation yields exactly referenceGenerate, and reset() starts a fresh sequence', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 9, 'q4f16');
		const prompt = IDS.slice(0, 5);
		const want = referenceGenerate(w, prompt, 10, [1, 107]);
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 32 });
		try {
			for (let round = 0; round < 2; round++) {
				engine.reset();
				const got: number[] = [];
				for await (const id of engine.generate(
					prompt,
					{ temperature: 0 },
					{ maxNewTokens: 10, stopIds: [1, 107] }
				))
					got.push(id);
				expect(got).toEqual(want);
			}
		} finally {
			engine.destroy();
		}
	});

	it('sampled generation is reproducible from the seed, and memoryReport accounts every buffer', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 10, 'f32');
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 32 });
		try {
			const params = { temperature: 1.5, topK: 50, topP: 0.95, repetitionPenalty: 1.1 };
			const draw = async (seed: number) => {
				engine.reset();
				const out: number[] = [];
				for await (const id of engine.generate(IDS.slice(0, 3), params, {
					maxNewTokens: 8,
					stopIds: [],
					seed
				}))
					out.push(id);
				return out;
			};
			const a = await draw(1);
			expect(await draw(1)).toEqual(a);
			expect(a.length).toBe(8);
			const report = engine.memoryReport();
			const kvBytes =
				2 * TINY_CONFIG.numLayers * 32 * TINY_CONFIG.numKvHeads * TINY_CONFIG.headDim * 4;
			expect(report.byPurpose['kv-cache']).toBe(kvBytes);
			expect(report.byPurpose.weights).toBeGreaterThan(V * TINY_CONFIG.hiddenSize * 4);
			expect(report.current).toBe(report.entries.reduce((s, e) => s + e.size, 0));
		} finally {
			engine.destroy();
		}
		expect(engine.memory.current).toBe(0);
	});

	it('after generate ends (break, abort, maxNewTokens) the cache holds the prompt and every yielded token but the last', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 11, 'f32');
		const prompt = IDS.slice(0, 4);
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 32 });
		try {
			const collect = async (stopAfter: number, abort?: AbortController, maxNewTokens = 6) => {
				engine.reset();
				const out: number[] = [];
				for await (const id of engine.generate(
					prompt,
					{ temperature: 0 },
					{ maxNewTokens, stopIds: [], signal: abort?.signal }
				)) {
					out.push(id);
					if (out.length === stopAfter) {
						if (abort) abort.abort();
						else break;
					}
				}
				return out;
			};
			expect((await collect(3)).length).toBe(3);
			expect(engine.length).toBe(prompt.length + 2);
			expect((await collect(2, new AbortController())).length).toBe(2);
			expect(engine.length).toBe(prompt.length + 1);
			const all = await collect(99, undefined, 5);
			expect(all.length).toBe(5);
			expect(engine.length).toBe(prompt.length + 4);
			// continuing from that cache gives what a fresh sequence would
			await engine.append([all[4]]);
			const cont = await engine.lastLogits();
			const fresh = referenceForward(w, [...prompt, ...all], { positions: 'last' });
			expect(relErr(cont, fresh)).toBeLessThan(1e-4);
		} finally {
			engine.destroy();
		}
	});
});
