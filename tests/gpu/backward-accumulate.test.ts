/**
 * Gemma2Backward as the trainer uses it: several micro-batches accumulate into one step's
 * gradients (token-weighted, gradScale = 1 / the step's target count), forward-only loss, a
 * sequence with nothing supervised — against referenceAccumulatedLossAndGrads, with the f32
 * weights and training/gpu-adapter.ts; and the memory plans (the 2B backward's, a whole run's).
 */
import { describe, expect, it } from 'vitest';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import {
	referenceAccumulatedLossAndGrads,
	referenceLossAndGrads
} from '../../src/lib/reference/backward';
import { GEMMA2_2B_CONFIG, randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Backward } from '../../src/lib/webgpu/gemma2/backward';
import {
	plannedBackwardBytes,
	trainingMemoryPlan
} from '../../src/lib/webgpu/gemma2/backward-plan';
import { AdamWOptimizer } from '../../src/lib/webgpu/kernels/adamw';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { adapterWithB, IDS, LABELS, tensorErr } from './backward-fixtures';
import { testDevice } from './harness';

describe('Gemma2Backward over several micro-batches and edge cases', () => {
	it('two sequences with gradScale = 1/(total targets) accumulate to referenceAccumulatedLossAndGrads; loss() and all-ignored labels leave the gradients alone', async () => {
		const { device, memory } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 32, 'f32');
		const adapter = adapterWithB(50);
		const batches = [
			{ ids: IDS, labels: LABELS },
			{ ids: IDS.slice(0, 7).reverse(), labels: [-100, -100, 5, 6, 7, 8, 9] }
		];
		const ref = referenceAccumulatedLossAndGrads(w, adapter, batches, { numItems: 'targets' });
		expect(ref.count).toBe(9 + 5);
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 16, memory });
		const lora = new GpuLoraAdapter(device, memory, adapter, { trainable: true, maxTokens: 16 });
		const bwd = new Gemma2Backward(engine, lora);
		try {
			const enc = device.createCommandEncoder();
			lora.zeroGrads(enc);
			device.queue.submit([enc.finish()]);
			let lossSum = 0;
			for (const b of batches) {
				const r = await bwd.lossAndGrads(b.ids, b.labels, { gradScale: 1 / ref.count });
				lossSum += r.lossSum;
				// forward-only loss: the same number, gradients untouched
				expect(Math.abs((await bwd.loss(b.ids, b.labels)).lossSum - r.lossSum)).toBeLessThan(
					1e-5 * r.lossSum
				);
			}
			// nothing supervised: no loss, no gradient
			expect(await bwd.lossAndGrads([2, 5, 6], [-100, -100, -100], { gradScale: 1 })).toEqual({
				lossSum: 0,
				count: 0
			});
			expect(Math.abs(lossSum - ref.lossSum) / ref.lossSum).toBeLessThan(1e-5);
			const grads = await lora.downloadGrads();
			for (const [name, g] of ref.grads)
				expect(tensorErr(grads.get(name)!, g), name).toBeLessThan(1e-3);
			// the plan: every buffer of the backward is listed, and the shared memory counts them
			const report = bwd.memoryReport();
			expect(report.entries.length).toBeGreaterThan(30);
			expect(report.bytes).toBeLessThanOrEqual(report.current);
		} finally {
			bwd.destroy();
			lora.destroy();
			engine.destroy();
			memory.freeAll();
		}
	});

	it("with no adapter (lora = null), loss() is the base model's summed cross-entropy", async () => {
		const { device, memory } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 33, 'f32');
		const ref = referenceLossAndGrads(w, { modules: new Map() }, IDS, LABELS, { lossOnly: true });
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 16, memory });
		const bwd = new Gemma2Backward(engine, null);
		try {
			const got = await bwd.loss(IDS, LABELS);
			expect(got.count).toBe(ref.count);
			expect(Math.abs(got.lossSum - ref.lossSum) / ref.lossSum).toBeLessThan(1e-5);
		} finally {
			bwd.destroy();
			engine.destroy();
			memory.freeAll();
		}
	});

	it('memory plan for Gemma-2 2B at 512 tokens: checkpoints per layer + one layer of scratch, about 300 MB', () => {
		const p = plannedBackwardBytes(GEMMA2_2B_CONFIG, 512);
		// 26 checkpoints of [512, 2304] f32
		expect(p.checkpoints).toBe(26 * 512 * 2304 * 4);
		// one layer's activations and gradients (four [T, I] buffers in all: gelu's gradients overwrite gate, up)
		expect(p.layer).toBeLessThan(150e6);
		// the loss never holds more than a 16 MB block of logits
		expect(p.loss).toBeLessThan(40e6);
		expect(p.total).toBeLessThan(305e6);
	});

	it('trainingMemoryPlan (the Train page estimate) is what a run allocates, within alignment', async () => {
		const { device } = await testDevice();
		const w = randomWeights(TINY_CONFIG, 3, 'q4f16');
		const T = 40;
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 64, kvCacheDtype: 'f16' });
		const mine = engine.memoryReport().byPurpose;
		const host = createLoraAdapter(
			TINY_CONFIG,
			{ ...LORA_DEFAULTS, r: 8, lora_alpha: 16, target_modules: [...ALL_PROJECTIONS] },
			1
		);
		engine.releaseKvCache();
		const lora = new GpuLoraAdapter(device, engine.memory, host, { trainable: true, maxTokens: T });
		const backward = new Gemma2Backward(engine, lora, { maxTokens: T });
		const adamw = new AdamWOptimizer(
			device,
			engine.memory,
			lora.segments.map((s) => ({ params: s.params, grads: s.grads!, floats: s.floats }))
		);
		try {
			const plan = trainingMemoryPlan({
				config: TINY_CONFIG,
				tokens: T,
				loraParams: lora.parameterCount,
				maxRank: 8,
				weightsBytes: mine.weights,
				engineActivationBytes: mine.activations
			});
			const allocated = engine.memory.current;
			expect(Math.abs(plan.total - allocated) / allocated).toBeLessThan(0.02);
		} finally {
			adamw.destroy();
			backward.destroy();
			lora.destroy();
			engine.destroy();
		}
	});
});
