/**
 * The typed memory plan: Gemma2Backward allocates exactly backwardBufferPlan (every buffer, byte
 * for byte, under the plan's labels), plannedBackwardBytes is that total, and GpuMemory.describe()
 * accounts every live byte by group.
 */
import { expect, it } from 'vitest';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Backward } from '../../src/lib/webgpu/gemma2/backward';
import { plannedBackwardBytes } from '../../src/lib/webgpu/gemma2/backward-plan';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { testDevice } from './harness';

it('Gemma2Backward allocates its memory plan exactly, and describe() names where the bytes go', async () => {
	const { device } = await testDevice();
	const T = 24;
	const engine = await Gemma2Engine.create(device, randomWeights(TINY_CONFIG, 5, 'f32'), {
		maxTokens: T
	});
	const before = engine.memory.current;
	const backward = new Gemma2Backward(engine, null, { maxTokens: T });
	try {
		const report = backward.memoryReport();
		const planned = plannedBackwardBytes(TINY_CONFIG, T);
		expect(report.bytes).toBe(planned.total);
		expect(engine.memory.current - before).toBe(planned.total);
		const groups = new Set(report.entries.map((e) => e.group));
		expect([...groups].sort()).toEqual(
			['backward.ckpt', 'backward.grad', 'backward.io', 'backward.layer', 'backward.loss'].sort()
		);
		const ckpt = report.entries.filter((e) => e.group === 'backward.ckpt');
		expect(ckpt.map((e) => e.label)).toEqual(
			Array.from({ length: TINY_CONFIG.numLayers }, (_, L) => `backward.ckpt.${L}`)
		);
		expect(ckpt.reduce((s, e) => s + e.size, 0)).toBe(planned.checkpoints);
		// one line: the live total, then every group with its purpose
		const line = report.describe;
		expect(line.startsWith(`${(engine.memory.current / 1e6).toFixed(1)} MB live (peak `)).toBe(
			true
		);
		const n = TINY_CONFIG.numLayers;
		expect(line).toMatch(new RegExp(`; activations backward\\.ckpt [0-9.]+ MB \\(${n}\\)`));
		expect(line).toMatch(new RegExp(`; kv-cache kv-cache [0-9.]+ MB \\(${2 * n}\\)`));
		for (const g of ['weights layers', 'activations backward.layer', 'scratch backward.loss'])
			expect(line).toContain(`; ${g} `);
	} finally {
		backward.destroy();
		engine.destroy();
	}
	expect(engine.memory.current).toBe(0);
});
