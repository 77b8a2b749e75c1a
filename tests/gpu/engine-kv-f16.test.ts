import { expect, it } from 'vitest';
import { referenceForward, referenceGenerate } from '../../src/lib/reference/gemma2';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { relErr, testDevice } from './harness';

const IDS = [2, 17, 300, 45, 45, 9, 511, 106, 64, 7, 250];

it('an f16-packed KV cache halves the cache memory and keeps logits within f16 rounding of the reference', async () => {
	const { device } = await testDevice();
	const w = randomWeights(TINY_CONFIG, 5, 'q4f16');
	const f32 = await Gemma2Engine.create(device, w, { maxTokens: 64 });
	const f16 = await Gemma2Engine.create(device, w, { maxTokens: 64, kvCacheDtype: 'f16' });
	try {
		expect(f16.memoryReport().byPurpose['kv-cache']).toBe(
			f32.memoryReport().byPurpose['kv-cache'] / 2
		);
		const ref = referenceForward(w, IDS);
		const err = relErr(await f16.forwardLogits(IDS), ref);
		// k/v lose ~2^-11 relative precision each; the logits move by about that much, not more
		expect(err).toBeLessThan(5e-3);
		expect(err).toBeGreaterThan(0);
		// greedy decoding through the f16 cache still follows the reference here
		const out: number[] = [];
		f16.reset();
		for await (const id of f16.generate(
			IDS.slice(0, 6),
			{ temperature: 0 },
			{ maxNewTokens: 5, stopIds: [] }
		))
			out.push(id);
		expect(out).toEqual(referenceGenerate(w, IDS.slice(0, 6), 5, []));
	} finally {
		f32.destroy();
		f16.destroy();
	}
});

it('releaseKvCache frees the cache for training and restoreKvCache gives chat an equal one back', async () => {
	const { device } = await testDevice();
	const w = randomWeights(TINY_CONFIG, 5, 'q4f16');
	const engine = await Gemma2Engine.create(device, w, { maxTokens: 64, kvCacheDtype: 'f16' });
	try {
		const cacheBytes = engine.memoryReport().byPurpose['kv-cache'];
		expect(cacheBytes).toBeGreaterThan(0);
		const before = await engine.forwardLogits(IDS);
		const live = engine.memory.current;
		engine.releaseKvCache();
		expect(engine.kvCacheReleased).toBe(true);
		expect(engine.memoryReport().byPurpose['kv-cache']).toBe(0);
		expect(engine.memory.current).toBe(live - cacheBytes);
		await expect(engine.forwardLogits(IDS)).rejects.toThrow(/KV cache is released/);
		engine.restoreKvCache();
		expect(engine.memoryReport().byPurpose['kv-cache']).toBe(cacheBytes);
		expect(engine.length).toBe(0);
		expect(Array.from(await engine.forwardLogits(IDS))).toEqual(Array.from(before));
	} finally {
		engine.destroy();
	}
});
