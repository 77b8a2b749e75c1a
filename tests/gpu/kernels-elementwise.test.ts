import { describe, expect, it } from 'vitest';
import { quantizeQ4, type Linear } from '../../src/lib/model/weights';
import {
	embedForward,
	geluGateForward,
	linearForward,
	rmsnormForward,
	softcap
} from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import { EmbeddingKernel } from '../../src/lib/webgpu/kernels/embedding';
import { GeluGateKernel } from '../../src/lib/webgpu/kernels/gelu-gate';
import { LmHeadKernel } from '../../src/lib/webgpu/kernels/lm-head';
import { RmsNormKernel } from '../../src/lib/webgpu/kernels/rmsnorm';
import { uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { randomArray, readF32, relErr, run, testDevice, upload, zeros } from './harness';

function table(kind: 'f32' | 'q4f16' | 'q4f32', V: number, d: number, seed: number): Linear {
	const data = Float32Array.from(randomArray(V * d, seededRandom(seed), 0.3));
	if (kind === 'f32') return { kind: 'f32', rows: V, cols: d, data };
	return quantizeQ4(data, V, d, kind === 'q4f16' ? 'f16' : 'f32');
}

describe('embedding gather h = E[ids]·f32(√d)', () => {
	for (const kind of ['f32', 'q4f16', 'q4f32'] as const) {
		it(`${kind}: matches embedForward, with the table split into 4 row chunks (ids in every chunk)`, async () => {
			const { device, memory } = await testDevice();
			const V = 50,
				d = 96; // d not a multiple of the 256-thread workgroup
			const E = table(kind, V, d, 11);
			const ids = [0, 49, 12, 13, 25, 37, 2, 12];
			const gw = uploadLinear(memory, 'embed', E, { maxChunkRows: 13 });
			expect(gw.chunks.length).toBe(4);
			const idsBuf = upload(memory, ids, 'u32');
			const h = zeros(memory, ids.length * d);
			await run(device, (enc) =>
				new EmbeddingKernel(device).encode(enc, idsBuf, gw, h, ids.length)
			);
			expect(relErr(await readF32(device, h, ids.length * d), embedForward(E, ids))).toBeLessThan(
				1e-6
			);
			memory.freeAll();
		});
	}
});

describe('rmsnorm (multiplier form)', () => {
	it('y = x·rsqrt(mean(x²)+eps)·w for C not a multiple of the workgroup, and y += … in accumulate mode', async () => {
		const { device, memory } = await testDevice();
		const T = 5,
			C = 300,
			eps = 1e-6;
		const x = randomArray(T * C, seededRandom(1), 3);
		const w = randomArray(C, seededRandom(2), 1);
		const y0 = randomArray(T * C, seededRandom(3), 1);
		const ref = rmsnormForward(x, w, T, C, eps);
		const xb = upload(memory, x),
			wb = upload(memory, w),
			yb = zeros(memory, T * C),
			acc = upload(memory, y0);
		const k = new RmsNormKernel(device);
		await run(device, (enc) => {
			k.encode(enc, xb, wb, yb, T, C, eps);
			k.encode(enc, xb, wb, acc, T, C, eps, { accumulate: true });
		});
		expect(relErr(await readF32(device, yb, T * C), ref)).toBeLessThan(1e-6);
		expect(
			relErr(
				await readF32(device, acc, T * C),
				ref.map((v, i) => v + y0[i])
			)
		).toBeLessThan(1e-6);
		memory.freeAll();
	});
});

describe('rmsnorm_add: y = res + RMSNorm(x)·w into a separate output', () => {
	for (const T of [3, 20]) {
		it(`matches the reference and leaves res and x unchanged (T = ${T})`, async () => {
			const { device, memory } = await testDevice();
			const C = 300,
				eps = 1e-6;
			const x = randomArray(T * C, seededRandom(21), 3);
			const w = randomArray(C, seededRandom(22), 1);
			const res = randomArray(T * C, seededRandom(23), 2);
			const ref = rmsnormForward(x, w, T, C, eps).map((v, i) => res[i] + v);
			const xb = upload(memory, x),
				wb = upload(memory, w),
				rb = upload(memory, res),
				yb = zeros(memory, T * C),
				acc = upload(memory, res);
			const k = new RmsNormKernel(device);
			await run(device, (enc) => {
				k.encode(enc, xb, wb, yb, T, C, eps, { residual: rb });
				k.encode(enc, xb, wb, acc, T, C, eps, { accumulate: true });
			});
			const got = await readF32(device, yb, T * C);
			expect(relErr(got, ref)).toBeLessThan(1e-6);
			// the same f32 arithmetic as the in-place accumulate, bit for bit
			expect(got).toEqual(await readF32(device, acc, T * C));
			expect(await readF32(device, rb, T * C)).toEqual(Float32Array.from(res));
			expect(await readF32(device, xb, T * C)).toEqual(Float32Array.from(x));
			memory.freeAll();
		});
	}
});

describe('rmsnorm_residual: h += RMSNorm_a(o); x = RMSNorm_b(h) in one pass', () => {
	for (const T of [1, 20]) {
		it(`matches the two reference norms around the residual add (T = ${T})`, async () => {
			const { device, memory } = await testDevice();
			const C = 300,
				eps = 1e-6;
			const o = randomArray(T * C, seededRandom(11), 3);
			const h0 = randomArray(T * C, seededRandom(12), 2);
			const wa = randomArray(C, seededRandom(13), 1);
			const wbv = randomArray(C, seededRandom(14), 1);
			const h = rmsnormForward(o, wa, T, C, eps).map((v, i) => h0[i] + v);
			const x = rmsnormForward(h, wbv, T, C, eps);
			const hb = upload(memory, h0),
				xb = zeros(memory, T * C);
			await run(device, (enc) =>
				new RmsNormKernel(device).encodeResidual(
					enc,
					{ o: upload(memory, o), wa: upload(memory, wa), h: hb, wb: upload(memory, wbv), x: xb },
					T,
					C,
					eps
				)
			);
			expect(relErr(await readF32(device, hb, T * C), h)).toBeLessThan(1e-6);
			expect(relErr(await readF32(device, xb, T * C), x)).toBeLessThan(1e-6);
			memory.freeAll();
		});
	}
});

describe('gelu_tanh(gate) ⊙ up', () => {
	it('matches geluGateForward over negative, small and large (saturating) gates', async () => {
		const { device, memory } = await testDevice();
		const n = 1000;
		const gate = randomArray(n, seededRandom(5), 8);
		gate[0] = 40;
		gate[1] = -40;
		gate[2] = 0;
		const up = randomArray(n, seededRandom(6), 2);
		const g = upload(memory, gate),
			u = upload(memory, up),
			y = zeros(memory, n);
		await run(device, (enc) => new GeluGateKernel(device).encode(enc, g, u, y, n));
		const got = await readF32(device, y, n);
		expect(got.every(Number.isFinite)).toBe(true);
		expect(relErr(got, geluGateForward(gate, up))).toBeLessThan(1e-6);
		memory.freeAll();
	});
});

describe('LM head: final norm, tied embedding, final softcap', () => {
	for (const kind of ['f32', 'q4f16'] as const) {
		it(`${kind}: logits = softcap(RMSNorm(h) Eᵀ) with the vocabulary split in 3 chunks, softcap reached`, async () => {
			const { device, memory } = await testDevice();
			const V = 70,
				d = 64,
				R = 3,
				eps = 1e-6,
				cap = 3;
			const E = table(kind, V, d, 21);
			const h = randomArray(R * d, seededRandom(22), 2);
			const norm = randomArray(d, seededRandom(23), 1).map((v) => 4 + v); // large logits: the cap bites
			const ref = linearForward(rmsnormForward(h, norm, R, d, eps), E, R).map((z) =>
				softcap(z, cap)
			);
			expect(ref.some((z) => Math.abs(z) > 2.5)).toBe(true);
			const gw = uploadLinear(memory, 'embed', E, { maxChunkRows: 24 });
			expect(gw.chunks.length).toBe(3);
			const hb = upload(memory, h),
				nb = upload(memory, norm),
				normed = zeros(memory, R * d),
				logits = zeros(memory, R * V);
			await run(device, (enc) =>
				new LmHeadKernel(device).encode(
					enc,
					{ h: hb, normed, finalNorm: nb, embed: gw, logits },
					R,
					eps,
					cap
				)
			);
			expect(relErr(await readF32(device, logits, R * V), ref)).toBeLessThan(1e-5);
			memory.freeAll();
		});
	}
});
