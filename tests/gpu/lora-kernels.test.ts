import { describe, expect, it } from 'vitest';
import { createLoraAdapter, mixAdapters } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import { referenceForward, toReferenceLora } from '../../src/lib/reference/gemma2';
import { loraBackward, loraForward } from '../../src/lib/reference/ops-backward';
import { randomWeights, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Backward } from '../../src/lib/webgpu/gemma2/backward';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { LoraKernel } from '../../src/lib/webgpu/kernels/lora';
import { randomArray, readF32, relErr, run, testDevice, upload } from './harness';

// IN, OUT not multiples of the 256-thread workgroup; R not a multiple of the 16 outputs of a
// reduction pass or of the 16 ranks of a lora_weight_grads workgroup; T not a multiple of its
// 16-token chunks.
const SHAPES: [T: number, IN: number, OUT: number, R: number][] = [
	[7, 300, 260, 5],
	[70, 300, 260, 17],
	[70, 700, 600, 17]
];

for (const [T, IN, OUT, R] of SHAPES)
	describe(`LoRA branch kernels vs the float64 loops (T ${T}, in ${IN}, out ${OUT}, r ${R})`, () => {
		const scale = 1.75;
		const rnd = seededRandom(3);
		const x = randomArray(T * IN, rnd);
		const A = randomArray(R * IN, rnd, 0.2);
		const B = randomArray(OUT * R, rnd, 0.2);
		const dy = randomArray(T * OUT, rnd);
		const y0 = randomArray(T * OUT, rnd);
		const dA0 = randomArray(R * IN, rnd, 0.1);
		const dB0 = randomArray(OUT * R, rnd, 0.1);
		const dx0 = randomArray(T * IN, rnd, 0.1);

		it('forward adds s·B(A x) into y', async () => {
			const { device, memory } = await testDevice();
			const want = Float64Array.from(y0);
			loraForward(x, { A, B, r: R, scale }, IN, OUT, T, want);
			const y = upload(memory, y0);
			const u = upload(memory, new Float32Array(T * R));
			// A and B at a binding offset inside one buffer, as GpuLoraAdapter lays them out
			const align = device.limits.minStorageBufferOffsetAlignment / 4;
			const offB = Math.ceil((R * IN) / align) * align;
			const flat = new Float32Array(offB + OUT * R);
			flat.set(A);
			flat.set(B, offB);
			const params = upload(memory, flat);
			await run(device, (enc) =>
				new LoraKernel(device).encodeForward(
					enc,
					{
						x: upload(memory, x),
						A: { buffer: params, offset: 0, size: R * IN * 4 },
						B: { buffer: params, offset: offB * 4, size: OUT * R * 4 },
						u,
						y
					},
					{ T, IN, OUT, R, scale }
				)
			);
			expect(relErr(await readF32(device, y, T * OUT), want)).toBeLessThan(1e-6);
			memory.freeAll();
		});

		it('backward accumulates dA = s(dy B)ᵀx, dB = s dyᵀ(Ax) and adds s(dy B)A into dx', async () => {
			const { device, memory } = await testDevice();
			const l = { A, B, r: R, scale };
			const ax = loraForward(x, l, IN, OUT, T, new Float64Array(T * OUT));
			const dA = Float64Array.from(dA0),
				dB = Float64Array.from(dB0),
				dx = Float64Array.from(dx0);
			loraBackward(dy, x, ax, l, IN, OUT, T, dA, dB, dx);
			const g = {
				dA: upload(memory, dA0),
				dB: upload(memory, dB0),
				dx: upload(memory, dx0)
			};
			await run(device, (enc) =>
				new LoraKernel(device).encodeBackward(
					enc,
					{
						x: upload(memory, x),
						dy: upload(memory, dy),
						A: upload(memory, A),
						B: upload(memory, B),
						...g,
						u: upload(memory, new Float32Array(T * R)),
						g: upload(memory, new Float32Array(T * R))
					},
					{ T, IN, OUT, R, scale }
				)
			);
			expect(relErr(await readF32(device, g.dA, R * IN), dA)).toBeLessThan(1e-5);
			expect(relErr(await readF32(device, g.dB, OUT * R), dB)).toBeLessThan(1e-5);
			expect(relErr(await readF32(device, g.dx, T * IN), dx)).toBeLessThan(1e-5);
			memory.freeAll();
		});

		it('dropout: the backward sees the forward mask (dB of a mask-keyed forward, and half the entries dropped)', async () => {
			const { device, memory } = await testDevice();
			const k = new LoraKernel(device);
			const shape = { T, IN, OUT, R, scale, dropout: 0.5, seed: 1234 };
			// forward with dropout: u = A(x⊙mask)/(1−p); read u back
			const u = upload(memory, new Float32Array(T * R));
			const xs = upload(memory, x);
			await run(device, (enc) =>
				k.encodeForward(
					enc,
					{ x: xs, A: upload(memory, A), B: upload(memory, B), u, y: upload(memory, y0) },
					shape
				)
			);
			const uFwd = await readF32(device, u, T * R);
			// the backward recomputes u with the same mask
			const u2 = upload(memory, new Float32Array(T * R));
			const dx = upload(memory, new Float32Array(T * IN));
			const dyOnes = upload(memory, new Float32Array(T * OUT).fill(1));
			await run(device, (enc) =>
				k.encodeBackward(
					enc,
					{
						x: xs,
						dy: dyOnes,
						A: upload(memory, A),
						B: upload(memory, B),
						dA: upload(memory, new Float32Array(R * IN)),
						dB: upload(memory, new Float32Array(OUT * R)),
						dx,
						u: u2,
						g: upload(memory, new Float32Array(T * R))
					},
					shape
				)
			);
			expect(Array.from(await readF32(device, u2, T * R))).toEqual(Array.from(uFwd));
			// dx is zero exactly where x was dropped; about half of it
			const dxv = await readF32(device, dx, T * IN);
			const zeros = dxv.filter((v) => v === 0).length / dxv.length;
			expect(zeros).toBeGreaterThan(0.4);
			expect(zeros).toBeLessThan(0.6);
			memory.freeAll();
		});
	});

describe('LoRA kernels at Gemma-2 2B sizes', () => {
	it('down_proj (in 9216 → out 2304) at rank 64: forward and backward match the loops', async () => {
		const { device, memory } = await testDevice();
		const T = 9,
			IN = 9216,
			OUT = 2304,
			R = 64,
			scale = 0.5;
		const rnd = seededRandom(77);
		const x = randomArray(T * IN, rnd);
		const A = randomArray(R * IN, rnd, 0.01);
		const B = randomArray(OUT * R, rnd, 0.1);
		const dy = randomArray(T * OUT, rnd);
		const l = { A, B, r: R, scale };
		const y = new Float64Array(T * OUT);
		const ax = loraForward(x, l, IN, OUT, T, y);
		const dA = new Float64Array(R * IN),
			dB = new Float64Array(OUT * R),
			dx = new Float64Array(T * IN);
		loraBackward(dy, x, ax, l, IN, OUT, T, dA, dB, dx);
		const b = {
			x: upload(memory, x),
			dy: upload(memory, dy),
			A: upload(memory, A),
			B: upload(memory, B),
			dA: upload(memory, new Float32Array(R * IN)),
			dB: upload(memory, new Float32Array(OUT * R)),
			dx: upload(memory, new Float32Array(T * IN)),
			u: upload(memory, new Float32Array(T * R)),
			g: upload(memory, new Float32Array(T * R)),
			y: upload(memory, new Float32Array(T * OUT))
		};
		const k = new LoraKernel(device);
		await run(device, (enc) => {
			k.encodeForward(enc, b, { T, IN, OUT, R, scale });
			k.encodeBackward(enc, b, { T, IN, OUT, R, scale });
		});
		expect(relErr(await readF32(device, b.y, T * OUT), y)).toBeLessThan(1e-5);
		expect(relErr(await readF32(device, b.dA, R * IN), dA)).toBeLessThan(1e-5);
		expect(relErr(await readF32(device, b.dB, OUT * R), dB)).toBeLessThan(1e-5);
		expect(relErr(await readF32(device, b.dx, T * IN), dx)).toBeLessThan(1e-5);
		memory.freeAll();
	});
});

describe('GpuLoraAdapter as the engine hook', () => {
	const c = TINY_CONFIG;
	const ids = [2, 40, 41, 300, 7, 9, 500];
	const lc = {
		...LORA_DEFAULTS,
		r: 4,
		lora_alpha: 8,
		target_modules: 'all-linear',
		rank_pattern: { 'layers\\.1\\.mlp\\.down_proj': 2 }
	};
	/** An adapter with B ≠ 0 (a fresh one is the identity). */
	function trained(seed: number) {
		const a = createLoraAdapter(c, lc, seed);
		const rnd = seededRandom(seed + 1);
		for (const m of a.modules.values())
			for (let i = 0; i < m.B.length; i++) m.B[i] = (rnd() * 2 - 1) * 0.3;
		return a;
	}

	it('forward with an adapter (split over several segments) equals referenceForward with toReferenceLora', async () => {
		const { device, memory } = await testDevice();
		const w = randomWeights(c, 12, 'f32');
		const adapter = trained(5);
		const ref = referenceForward(w, ids, { lora: toReferenceLora(adapter) });
		expect(relErr(referenceForward(w, ids), ref)).toBeGreaterThan(1e-2);
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 16, prefillChunk: 4, memory });
		const gpu = new GpuLoraAdapter(device, memory, adapter, {
			maxSegmentBytes: 16 * 1024,
			maxTokens: 2
		});
		expect(gpu.segments.length).toBeGreaterThan(1);
		engine.lora = gpu;
		try {
			expect(relErr(await engine.forwardLogits(ids), ref)).toBeLessThan(1e-4);
			// download gives back exactly what was uploaded
			const back = await gpu.download();
			for (const [name, m] of adapter.modules) {
				expect(back.modules.get(name)!.A).toEqual(m.A);
				expect(back.modules.get(name)!.B).toEqual(m.B);
				expect(back.modules.get(name)!.scale).toBe(m.scale);
			}
		} finally {
			gpu.destroy();
			engine.destroy();
			memory.freeAll();
		}
	});

	it('a weighted mix of two adapters (mixAdapters, uploaded as one) equals the reference with both', async () => {
		const { device, memory } = await testDevice();
		const w = randomWeights(c, 13, 'f32');
		const a1 = trained(7);
		const a2 = createLoraAdapter(
			c,
			{ ...LORA_DEFAULTS, r: 3, lora_alpha: 3, target_modules: ['q_proj', 'up_proj'] },
			9
		);
		for (const m of a2.modules.values()) m.B.fill(0.1);
		const mix = mixAdapters([
			{ adapter: a1, weight: 0.7 },
			{ adapter: a2, weight: -0.4 }
		]);
		const r1 = toReferenceLora(a1);
		const r2 = toReferenceLora(a2);
		// reference: both branches, each weighted (weight folded into the scale)
		const ref = referenceForward(w, ids, {
			lora: {
				get(layer, proj) {
					const l1 = r1.get(layer, proj);
					const l2 = r2.get(layer, proj);
					if (!l1 && !l2) return undefined;
					const parts = [
						l1 && { ...l1, scale: 0.7 * l1.scale },
						l2 && { ...l2, scale: -0.4 * l2.scale }
					].filter(Boolean) as NonNullable<typeof l1>[];
					// concatenate: A stacked, B side by side with the scale folded in
					const R = parts.reduce((s, p) => s + p.r, 0);
					const IN = parts[0].A.length / parts[0].r;
					const OUT = parts[0].B.length / parts[0].r;
					const A = new Float64Array(R * IN);
					const B = new Float64Array(OUT * R);
					let off = 0;
					for (const p of parts) {
						for (let i = 0; i < p.r * IN; i++) A[off * IN + i] = p.A[i];
						for (let n = 0; n < OUT; n++)
							for (let j = 0; j < p.r; j++) B[n * R + off + j] = p.scale * p.B[n * p.r + j];
						off += p.r;
					}
					return { A, B, r: R, scale: 1 };
				}
			}
		});
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 16, prefillChunk: 8, memory });
		const gpu = new GpuLoraAdapter(device, memory, mix);
		engine.lora = gpu;
		try {
			expect(relErr(await engine.forwardLogits(ids), ref)).toBeLessThan(1e-4);
		} finally {
			gpu.destroy();
			engine.destroy();
			memory.freeAll();
		}
	});
});

describe('lora_dropout in the full model (training mode)', () => {
	it('the backward differentiates the masked forward: gradients match a central finite difference', async () => {
		const { device, memory } = await testDevice();
		const c = { ...TINY_CONFIG, finalSoftcap: 30 };
		const w = randomWeights(c, 17, 'f32');
		const lc = {
			...LORA_DEFAULTS,
			r: 4,
			lora_alpha: 8,
			lora_dropout: 0.3,
			target_modules: 'all-linear'
		};
		const adapter = createLoraAdapter(c, lc, 3);
		const rnd = seededRandom(8);
		for (const m of adapter.modules.values())
			for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround((rnd() * 2 - 1) * 0.3);
		const ids = [2, 106, 300, 301, 107, 108, 106, 400, 401, 107];
		const labels = ids.map((t, i) => (i >= 7 ? t : -100));
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 16, memory });
		const gpu = new GpuLoraAdapter(device, memory, adapter, { trainable: true });
		engine.lora = gpu;
		const backward = new Gemma2Backward(engine, gpu);
		try {
			gpu.training = true;
			gpu.dropoutSeed = 1234;
			const enc = device.createCommandEncoder();
			gpu.zeroGrads(enc);
			device.queue.submit([enc.finish()]);
			const base = await backward.lossAndGrads(ids, labels, { gradScale: 1 });
			const grads = await gpu.downloadGrads();
			// dropout is really on: another mask gives another loss, eval mode yet another
			gpu.dropoutSeed = 99;
			expect(Math.abs((await backward.loss(ids, labels)).lossSum - base.lossSum)).toBeGreaterThan(
				1e-3
			);
			gpu.dropoutSeed = 1234;
			expect((await backward.loss(ids, labels)).lossSum).toBe(base.lossSum);
			// directional derivative along a random direction v of all LoRA parameters
			const eps = 1e-2;
			const dir = new Map<string, Float32Array>();
			const shifted = (sign: number) => {
				const a = structuredClone(adapter);
				for (const m of a.modules.values())
					for (const which of ['A', 'B'] as const) {
						const key = `base_model.model.${m.name}.lora_${which}.weight`;
						let v = dir.get(key);
						if (!v) dir.set(key, (v = Float32Array.from(m[which], () => rnd() * 2 - 1)));
						for (let i = 0; i < v.length; i++) m[which][i] += sign * eps * v[i];
					}
				return a;
			};
			gpu.upload(shifted(1));
			const plus = (await backward.loss(ids, labels)).lossSum;
			gpu.upload(shifted(-1));
			const minus = (await backward.loss(ids, labels)).lossSum;
			let analytic = 0;
			for (const [k, v] of dir) {
				const g = grads.get(k)!;
				for (let i = 0; i < v.length; i++) analytic += g[i] * v[i];
			}
			const numeric = (plus - minus) / (2 * eps);
			expect(Math.abs(analytic)).toBeGreaterThan(0.1);
			expect(Math.abs(numeric - analytic) / Math.abs(analytic)).toBeLessThan(0.02);
		} finally {
			backward.destroy();
			gpu.destroy();
			engine.destroy();
			memory.freeAll();
		}
	});
});
