import { describe, expect, it } from 'vitest';
import { adamwStep, clipGradNorm, createAdamWState } from '../../src/lib/reference/adamw';
import { seededRandom } from '../../src/lib/reference/random-model';
import { AdamWOptimizer } from '../../src/lib/webgpu/kernels/adamw';
import { randomArray, readF32, relErr, run, testDevice, upload } from './harness';

/**
 * The GPU AdamW (with the global gradient norm and clip_grad_norm_) against the float64 torch
 * oracle, over several steps and several flat segments (one spans many norm blocks).
 */
describe('AdamW kernel vs torch.optim.AdamW + clip_grad_norm_ (reference/adamw.ts)', () => {
	const sizes = [10_000, 37, 4096 * 3 + 5];
	const cases = [
		{ name: 'clipping active', maxGradNorm: 0.5, gradScale: 1 },
		{ name: 'clipping inactive (norm below max)', maxGradNorm: 1e4, gradScale: 0.01 },
		{ name: 'clipping off (max_grad_norm 0)', maxGradNorm: 0, gradScale: 3 }
	];
	for (const cse of cases)
		it(`${cse.name}: 4 steps within 1e-6 relative`, async () => {
			const { device, memory } = await testDevice();
			const rnd = seededRandom(21);
			const p0 = sizes.map((n) => Float32Array.from(randomArray(n, rnd, 0.5)));
			const refParams = new Map(p0.map((p, i) => [`t${i}`, Float64Array.from(p)]));
			const refState = createAdamWState(refParams);
			const segs = p0.map((p) => ({
				params: upload(memory, p),
				grads: upload(memory, new Float32Array(p.length)),
				floats: p.length
			}));
			const opt = new AdamWOptimizer(device, memory, segs);
			const lrs = [1e-3, 2e-3, 5e-4, 1e-2];
			for (let step = 0; step < lrs.length; step++) {
				const grads = sizes.map((n) => Float32Array.from(randomArray(n, rnd, cse.gradScale)));
				segs.forEach((s, i) => device.queue.writeBuffer(s.grads, 0, grads[i]));
				const h = {
					lr: lrs[step],
					beta1: 0.9,
					beta2: 0.999,
					eps: 1e-8,
					weightDecay: 0.06,
					maxGradNorm: cse.maxGradNorm
				};
				await run(device, (enc) => opt.encodeStep(enc, h));
				const refGrads = new Map(grads.map((g, i) => [`t${i}`, Float64Array.from(g)]));
				const norm = clipGradNorm(refGrads, cse.maxGradNorm);
				adamwStep(refParams, refGrads, refState, { ...h });
				const got = await opt.readGradNorm();
				expect(Math.abs(got.norm - norm) / norm).toBeLessThan(1e-6);
				if (cse.maxGradNorm > 0 && norm > cse.maxGradNorm) expect(got.coef).toBeLessThan(1);
				else expect(got.coef).toBe(1);
				for (let i = 0; i < sizes.length; i++)
					expect(
						relErr(await readF32(device, segs[i].params, sizes[i]), refParams.get(`t${i}`)!)
					).toBeLessThan(1e-6);
			}
			expect(opt.step).toBe(4);
			// moments round-trip through the host state (checkpoints)
			const st = await opt.exportState();
			for (let i = 0; i < sizes.length; i++) {
				expect(relErr(st.m[i], refState.m.get(`t${i}`)!)).toBeLessThan(1e-5);
				expect(relErr(st.v[i], refState.v.get(`t${i}`)!)).toBeLessThan(1e-5);
			}
			opt.destroy();
			memory.freeAll();
		});
});
