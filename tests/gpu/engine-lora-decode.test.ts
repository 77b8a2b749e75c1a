/**
 * A LoRA adapter in the fused decode path: tokens fed one to four at a time go through the merged
 * GEMVs with one branch dispatch per adapted group (q | k | v, o, gate | up with the gelu-gate,
 * down), held to the float64 reference; and the dispatches that costs, counted.
 */
import { describe, expect, it } from 'vitest';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS, type LoraConfig } from '../../src/lib/lora/config';
import { referenceForward, toReferenceLora } from '../../src/lib/reference/gemma2';
import { randomWeights, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import { countGpuCalls } from '../../src/lib/webgpu/call-counter';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { relErr, testDevice } from './harness';

const c = TINY_CONFIG;
const PROMPT = [2, 40, 41, 300, 7, 9];
const FED = [500, 12, 13, 14, 15];

/** An adapter with B ≠ 0 (a fresh one is the identity). */
function trained(lc: Partial<LoraConfig>, seed: number): LoraAdapter {
	const a = createLoraAdapter(c, { ...LORA_DEFAULTS, lora_alpha: 8, ...lc }, seed);
	const rnd = seededRandom(seed + 1);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = (rnd() * 2 - 1) * 0.3;
	return a;
}

const CASES: [string, Partial<LoraConfig>, number?][] = [
	[
		'every projection, one rank pattern',
		{ r: 4, target_modules: 'all-linear', rank_pattern: { 'layers\\.1\\.mlp\\.up_proj': 2 } }
	],
	[
		'q and up only (k, v and gate without a branch)',
		{ r: 3, target_modules: ['q_proj', 'up_proj'] }
	],
	['every projection, split over small segments', { r: 4, target_modules: 'all-linear' }, 8 * 1024]
];

describe('LoRA in the fused decode', () => {
	for (const [name, lc, maxSegmentBytes] of CASES)
		it(`${name}: the last position's logits after 1, then 4, tokens equal the reference`, async () => {
			const { device, memory } = await testDevice();
			const w = randomWeights(c, 21, 'f32');
			const adapter = trained(lc, 5);
			const lora = toReferenceLora(adapter);
			const engine = await Gemma2Engine.create(device, w, { maxTokens: 32, memory });
			const gpu = new GpuLoraAdapter(device, memory, adapter, { maxSegmentBytes });
			if (maxSegmentBytes) expect(gpu.segments.length).toBeGreaterThan(2);
			engine.lora = gpu;
			try {
				await engine.prefill(PROMPT); // 6 tokens: the unfused path
				const last = async (ids: number[]) => {
					const ref = referenceForward(w, ids, { lora });
					const row = ref.subarray(ref.length - c.vocabSize);
					expect(relErr(await engine.lastLogits(), row)).toBeLessThan(1e-4);
				};
				await engine.append(FED.slice(0, 1)); // T = 1
				await last([...PROMPT, ...FED.slice(0, 1)]);
				await engine.append(FED.slice(1)); // T = 4
				await last([...PROMPT, ...FED]);
				// the branch really is there
				const base = referenceForward(w, [...PROMPT, ...FED]);
				expect(
					relErr(await engine.lastLogits(), base.subarray(base.length - c.vocabSize))
				).toBeGreaterThan(1e-3);
			} finally {
				gpu.destroy();
				engine.destroy();
				memory.freeAll();
			}
		});

	it('costs one dispatch per adapted group: at most 8 + 4 per layer, nothing created per token', async () => {
		const { device, memory } = await testDevice();
		const w = randomWeights(c, 22, 'q4f16');
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 64, memory });
		const params = { temperature: 0 };
		/** The counted calls of a steady-state generated token. */
		const steady = async () => {
			engine.reset();
			const tokens = engine.generate(PROMPT, params, { maxNewTokens: 8, stopIds: [] });
			await tokens.next();
			await tokens.next(); // warm-up: slots and bind groups
			const { counts } = await countGpuCalls(() => tokens.next());
			await tokens.return();
			return counts;
		};
		try {
			const base = await steady();
			const all = new GpuLoraAdapter(
				device,
				memory,
				trained({ r: 4, target_modules: 'all-linear' }, 3)
			);
			engine.lora = all;
			const adapted = await steady();
			expect(adapted.dispatches - base.dispatches).toBe(4 * c.numLayers);
			expect(adapted).toMatchObject({
				submits: 1,
				computePasses: 1,
				bindGroupsCreated: 0,
				buffersCreated: 0
			});
			const some = new GpuLoraAdapter(
				device,
				memory,
				trained({ r: 2, target_modules: ['v_proj', 'down_proj'] }, 4)
			);
			engine.lora = some;
			expect((await steady()).dispatches - base.dispatches).toBe(2 * c.numLayers);
			all.destroy();
			some.destroy();
		} finally {
			engine.destroy();
			memory.freeAll();
		}
	});
});
