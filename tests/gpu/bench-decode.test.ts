import { expect, it } from 'vitest';
import type { Gemma2Config } from '../../src/lib/model/config';
import {
	f32ToF16,
	PROJECTIONS,
	type Gemma2Weights,
	type Q4Linear
} from '../../src/lib/model/weights';
import { GEMMA2_2B_CONFIG } from '../../src/lib/reference/random-model';
import { projectionShape } from '../../src/lib/model/weights';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { testDevice } from './harness';

/**
 * Throughput of the full-size 2B q4f16 engine (random nibbles, one scale per tensor — the
 * numbers are meaningless, the memory traffic is the real model's). Opt-in, for machines with a
 * real GPU:   VITE_GPU_BENCH=1 npx vitest run --project gpu tests/gpu/bench-decode.test.ts
 */
function fastQ4(rows: number, cols: number, seed: number): Q4Linear {
	const qweight = new Uint32Array((rows * cols) / 8);
	let x = seed >>> 0 || 1;
	for (let i = 0; i < qweight.length; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		qweight[i] = (x >>> 0) & 0xdddddddd; // nibbles ≤ 13: stays in the 0..14 range
	}
	const bits = new Uint16Array((rows * cols) / 32).fill(f32ToF16(0.5 / Math.sqrt(cols) / 7));
	return { kind: 'q4', rows, cols, qweight, scales: { dtype: 'f16', bits } };
}

function fastWeights(c: Gemma2Config): Gemma2Weights {
	const ones = () => new Float32Array(c.hiddenSize).fill(1);
	let seed = 1;
	return {
		config: c,
		embed: fastQ4(c.vocabSize, c.hiddenSize, seed++),
		finalNorm: ones(),
		layers: Array.from({ length: c.numLayers }, () => ({
			inputNorm: ones(),
			postAttnNorm: ones(),
			preFfnNorm: ones(),
			postFfnNorm: ones(),
			proj: Object.fromEntries(
				PROJECTIONS.map((p) => {
					const [rows, cols] = projectionShape(c, p);
					return [p, fastQ4(rows, cols, seed++)];
				})
			) as Gemma2Weights['layers'][0]['proj']
		}))
	};
}

it.skipIf(import.meta.env.VITE_GPU_BENCH !== '1')(
	'2B q4f16: prefill and decode throughput',
	async () => {
		const { device } = await testDevice();
		const engine = await Gemma2Engine.create(device, fastWeights(GEMMA2_2B_CONFIG), {
			maxTokens: 1024
		});
		try {
			const prompt = Array.from({ length: 512 }, (_, i) => 1000 + i);
			await engine.prefill(prompt.slice(0, 16)); // warm-up: pipelines, bind groups
			engine.reset();
			let t0 = performance.now();
			await engine.prefill(prompt);
			const prefillS = (performance.now() - t0) / 1000;
			const n = 64;
			t0 = performance.now();
			let count = 0;
			for await (const _ of engine.generate(
				[],
				{ temperature: 0.8, topK: 40, topP: 0.95 },
				{ maxNewTokens: n, stopIds: [] }
			))
				count++;
			const decodeS = (performance.now() - t0) / 1000;
			const report = engine.memoryReport();
			console.log(
				JSON.stringify({
					prefillTokensPerSecond: prompt.length / prefillS,
					decodeTokensPerSecond: count / decodeS,
					gpuBytes: report.byPurpose,
					peak: report.peak
				})
			);
			expect(count).toBe(n);
		} finally {
			engine.destroy();
		}
	},
	600_000
);
