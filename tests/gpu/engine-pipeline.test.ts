/**
 * generate() keeps several tokens in flight: the sampled id feeds the next embedding on the GPU
 * and the CPU reads ids behind. These tests hold it to the one-token-at-a-time path (sample() +
 * append(), the CPU carrying every id) and to the float64 reference, stop ids included.
 */
import { describe, expect, it } from 'vitest';
import { referenceForward, referenceGenerate } from '../../src/lib/reference/gemma2';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { mulberry32 } from '../../src/lib/random';
import { countGpuCalls } from '../../src/lib/webgpu/call-counter';
import { Gemma2Engine, type SamplingParams } from '../../src/lib/webgpu/gemma2/forward';
import { relErr, testDevice } from './harness';

const PROMPT = [2, 17, 300, 45, 9];

async function collect(it: AsyncIterable<number>): Promise<number[]> {
	const out: number[] = [];
	for await (const id of it) out.push(id);
	return out;
}

describe('pipelined generate', () => {
	const cases: SamplingParams[] = [
		{ temperature: 0, repetitionPenalty: 1.5 },
		{ temperature: 1.2, topK: 50, topP: 0.95, repetitionPenalty: 1.3 },
		{ temperature: 0.8 }
	];
	for (const params of cases)
		it(`draws what sample() + append() draw one token at a time for ${JSON.stringify(params)}`, async () => {
			const { device } = await testDevice();
			const engine = await Gemma2Engine.create(device, randomWeights(TINY_CONFIG, 12, 'q4f16'), {
				maxTokens: 32
			});
			try {
				const n = 10;
				const random = mulberry32(7);
				const want: number[] = [];
				await engine.prefill(PROMPT);
				for (let k = 0; k < n; k++) {
					want.push(await engine.sample(params, [...PROMPT, ...want], random()));
					if (k + 1 < n) await engine.append([want[k]]);
				}
				engine.reset();
				const got = await collect(
					engine.generate(PROMPT, params, { maxNewTokens: n, stopIds: [], seed: 7 })
				);
				expect(got).toEqual(want);
				expect(engine.length).toBe(PROMPT.length + n - 1);
			} finally {
				engine.destroy();
			}
		});

	it('a stop id read behind speculative tokens: the cache forgets them, its logits and the next turn are exact', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 9, 'q4f16');
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 32 });
		try {
			const params = { temperature: 2, repetitionPenalty: 2 };
			const random = mulberry32(3);
			const all: number[] = [];
			await engine.prefill(PROMPT);
			for (let k = 0; k < 8; k++) {
				all.push(await engine.sample(params, [...PROMPT, ...all], random()));
				await engine.append([all[k]]);
			}
			// a stop id that first appears at index ≥ 2, so tokens were in flight past it
			const at = all.findIndex((id, i) => i >= 2 && !all.slice(0, i).includes(id));
			expect(at).toBeGreaterThanOrEqual(2);
			engine.reset();
			const got = await collect(
				engine.generate(PROMPT, params, { maxNewTokens: 8, stopIds: [all[at]], seed: 3 })
			);
			expect(got).toEqual(all.slice(0, at + 1));
			expect(engine.length).toBe(PROMPT.length + at);
			const cached = [...PROMPT, ...all.slice(0, at)];
			const want = referenceForward(w, cached, { positions: 'last' });
			expect(relErr(await engine.lastLogits(), want)).toBeLessThan(1e-4);
			// the next turn from the cache (no new ids) continues the cached sequence
			const greedy = { temperature: 0 };
			const next = await collect(engine.generate([], greedy, { maxNewTokens: 3, stopIds: [] }));
			expect(next).toEqual(referenceGenerate(w, cached, 3, []));
			expect(engine.length).toBe(cached.length + 2);
		} finally {
			engine.destroy();
		}
	});

	it('a steady-state token is one pass and one submit, reads one id behind, creates nothing', async () => {
		const { device } = await testDevice();
		const engine = await Gemma2Engine.create(device, randomWeights(TINY_CONFIG, 3, 'q4f16'), {
			maxTokens: 32
		});
		try {
			const params = { temperature: 0.8, topK: 20, topP: 0.9, repetitionPenalty: 1.1 };
			const tokens = engine.generate(PROMPT, params, { maxNewTokens: 12, stopIds: [] });
			const first = await countGpuCalls(() => tokens.next());
			// the prompt's pass and two more tokens submitted before the first id is read
			expect(first.counts).toMatchObject({ submits: 3, readbacks: 3 });
			await tokens.next(); // warm-up: slots and bind groups
			const { counts } = await countGpuCalls(() => tokens.next());
			expect(counts).toMatchObject({
				submits: 1,
				computePasses: 1,
				copies: 1,
				readbacks: 1,
				bindGroupsCreated: 0,
				buffersCreated: 0
			});
			await tokens.return();
			expect(engine.length).toBe(PROMPT.length + 2);
		} finally {
			engine.destroy();
		}
	});
});
