import { expect, it } from 'vitest';
import { PROJECTIONS, projectionShape, type ProjectionName } from '../../src/lib/model/weights';
import { referenceForward, type ReferenceLora } from '../../src/lib/reference/gemma2';
import { randomWeights, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Engine, type ProjectionHook } from '../../src/lib/webgpu/gemma2/forward';
import { uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { MatmulKernel, type GpuLinear } from '../../src/lib/webgpu/kernels/matmul';
import { randomArray, relErr, testDevice } from './harness';

/**
 * The LoRA seam: a ProjectionHook sees every projection's x and y and may add s·B(A x) into y.
 * This test builds the simplest hook from two matmuls (the real one, training/gpu-adapter.ts, has kernels of its own)
 * and checks the engine's logits against the reference forward with the same adapters.
 */
it('a ProjectionHook adding s·B(A x) on every projection reproduces the reference LoRA forward', async () => {
	const { device, memory } = await testDevice();
	const c = TINY_CONFIG;
	const w = randomWeights(c, 12, 'f32');
	const r = 4;
	const scale = 2;
	const host = new Map<string, { A: Float64Array; B: Float64Array }>();
	let seed = 100;
	for (let L = 0; L < c.numLayers; L++)
		for (const p of PROJECTIONS) {
			const [out, inp] = projectionShape(c, p);
			host.set(`${L}.${p}`, {
				A: randomArray(r * inp, seededRandom(seed++), 0.3),
				B: randomArray(out * r, seededRandom(seed++), 0.3)
			});
		}
	const refLora: ReferenceLora = {
		get: (layer, proj) => {
			const l = host.get(`${layer}.${proj}`);
			return l && { A: l.A, B: l.B, r, scale };
		}
	};
	const ids = [2, 40, 41, 300, 7, 9, 500];
	const ref = referenceForward(w, ids, { lora: refLora });
	expect(relErr(referenceForward(w, ids), ref)).toBeGreaterThan(1e-2); // the adapters matter

	const engine = await Gemma2Engine.create(device, w, { maxTokens: 16, prefillChunk: 4 });
	const mm = new MatmulKernel(device);
	const gpu = new Map<string, { A: GpuLinear; B: GpuLinear }>();
	for (const [key, { A, B }] of host) {
		const [L, p] = key.split('.');
		const [out, inp] = projectionShape(c, p as ProjectionName);
		gpu.set(key, {
			A: uploadLinear(memory, `lora.${L}.${p}.A`, {
				kind: 'f32',
				rows: r,
				cols: inp,
				data: Float32Array.from(A)
			}),
			// s folded into B
			B: uploadLinear(memory, `lora.${L}.${p}.B`, {
				kind: 'f32',
				rows: out,
				cols: r,
				data: Float32Array.from(B, (v) => v * scale)
			})
		});
	}
	const ax = memory.alloc('lora.ax', 16 * r * 4, GPUBufferUsage.STORAGE, 'lora');
	const calls: string[] = [];
	const hook: ProjectionHook = {
		encode(enc, layer, proj, x, y, T) {
			calls.push(`${layer}.${proj}.${T}`);
			const l = gpu.get(`${layer}.${proj}`)!;
			mm.encode(enc, x, l.A, ax, T);
			mm.encode(enc, ax, l.B, y, T, { accumulate: true });
		}
	};
	engine.lora = hook;
	try {
		const got = await engine.forwardLogits(ids);
		expect(relErr(got, ref)).toBeLessThan(1e-4);
		// every projection of every layer, once per chunk (4 + 3 tokens)
		expect(calls.length).toBe(2 * c.numLayers * PROJECTIONS.length);
		expect(calls).toContain(`${c.numLayers - 1}.down_proj.3`);
	} finally {
		engine.destroy();
		memory.freeAll();
	}
});
