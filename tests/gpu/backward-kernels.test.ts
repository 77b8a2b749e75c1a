/**
 * Every backward kernel against its float64 twin in src/lib/reference/ops-backward.ts, on small
 * shapes that are not multiples of the tiles and that reach the softcaps.
 */
import { describe, expect, it } from 'vitest';
import { quantizeQ4, type Linear } from '../../src/lib/model/weights';
import {
	attentionBackward,
	geluGateBackward,
	linearBackward,
	lmHeadCrossEntropy,
	rmsnormBackward
} from '../../src/lib/reference/ops-backward';
import { attentionForward, linearForward, rmsnormForward } from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import { AttentionKernel } from '../../src/lib/webgpu/kernels/attention';
import { CrossEntropyKernel } from '../../src/lib/webgpu/kernels/cross-entropy';
import { GeluGateKernel } from '../../src/lib/webgpu/kernels/gelu-gate';
import { MatmulKernel } from '../../src/lib/webgpu/kernels/matmul';
import { RmsNormKernel } from '../../src/lib/webgpu/kernels/rmsnorm';
import { uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { randomArray, readF32, relErr, run, testDevice, upload, zeros } from './harness';

function weight(
	kind: 'f32' | 'q4f16' | 'q4f32',
	N: number,
	K: number,
	seed: number,
	std = 0
): Linear {
	const data = Float32Array.from(randomArray(N * K, seededRandom(seed), std || 1 / Math.sqrt(K)));
	if (kind === 'f32') return { kind: 'f32', rows: N, cols: K, data };
	return quantizeQ4(data, N, K, kind === 'q4f16' ? 'f16' : 'f32');
}

describe('rmsnorm backward', () => {
	it('dx = r·u − (r³/C)·x·Σ(x⊙u) for C not a multiple of the workgroup; dx += … when accumulating', async () => {
		const { device, memory } = await testDevice();
		const T = 5,
			C = 300,
			eps = 1e-6;
		const x = randomArray(T * C, seededRandom(1), 3);
		const w = randomArray(C, seededRandom(2), 1);
		const dy = randomArray(T * C, seededRandom(3), 1);
		const d0 = randomArray(T * C, seededRandom(4), 1);
		const ref = rmsnormBackward(dy, x, w, T, C, eps);
		const [xb, wb, dyb, dx, acc] = [
			upload(memory, x),
			upload(memory, w),
			upload(memory, dy),
			zeros(memory, T * C),
			upload(memory, d0)
		];
		const k = new RmsNormKernel(device);
		await run(device, (enc) => {
			k.encodeBackward(enc, dyb, xb, wb, dx, T, C, eps);
			k.encodeBackward(enc, dyb, xb, wb, acc, T, C, eps, { accumulate: true });
		});
		expect(relErr(await readF32(device, dx, T * C), ref)).toBeLessThan(1e-5);
		expect(
			relErr(
				await readF32(device, acc, T * C),
				ref.map((v, i) => v + d0[i])
			)
		).toBeLessThan(1e-5);
		memory.freeAll();
	});
});

describe('gelu gate backward', () => {
	it('dgate, dup match geluGateBackward over negative, small and saturating gates', async () => {
		const { device, memory } = await testDevice();
		const n = 1000;
		const gate = randomArray(n, seededRandom(5), 8);
		gate[0] = 40;
		gate[1] = -40;
		gate[2] = 0;
		const up = randomArray(n, seededRandom(6), 2);
		const dy = randomArray(n, seededRandom(7), 1);
		const ref = geluGateBackward(dy, gate, up);
		const [g, u, d, dg, du] = [
			upload(memory, gate),
			upload(memory, up),
			upload(memory, dy),
			zeros(memory, n),
			zeros(memory, n)
		];
		await run(device, (enc) => new GeluGateKernel(device).encodeBackward(enc, d, g, u, dg, du, n));
		const gotG = await readF32(device, dg, n);
		expect(gotG.every(Number.isFinite)).toBe(true);
		expect(relErr(gotG, ref.dgate)).toBeLessThan(1e-5);
		expect(relErr(await readF32(device, du, n), ref.dup)).toBeLessThan(1e-5);
		// in place: gate ← dgate, up ← dup
		await run(device, (enc) => new GeluGateKernel(device).encodeBackwardInPlace(enc, d, g, u, n));
		expect(relErr(await readF32(device, g, n), ref.dgate)).toBeLessThan(1e-5);
		expect(relErr(await readF32(device, u, n), ref.dup)).toBeLessThan(1e-5);
		memory.freeAll();
	});
});

describe('matmul backward dx = dy W', () => {
	const CASES: { kind: 'f32' | 'q4f16' | 'q4f32'; M: number; N: number; K: number }[] = [
		{ kind: 'f32', M: 1, N: 37, K: 70 },
		{ kind: 'f32', M: 67, N: 75, K: 45 },
		{ kind: 'q4f16', M: 70, N: 67, K: 160 },
		{ kind: 'q4f32', M: 5, N: 33, K: 96 },
		{ kind: 'q4f16', M: 131, N: 70, K: 160 },
		// dy rows of whole vec4s (N % 4 == 0): staged with vec4 loads
		{ kind: 'q4f16', M: 70, N: 68, K: 96 }
	];
	for (const { kind, M, N, K } of CASES)
		for (const tile of [64, 128] as const)
			it(`${kind} M=${M} N=${N} K=${K}, ${tile}×${tile} tiles: matches linearBackward; accumulate adds`, async () => {
				const { device, memory } = await testDevice();
				const w = weight(kind, N, K, N * 7 + K);
				const dy = randomArray(M * N, seededRandom(M + N), 1);
				const d0 = randomArray(M * K, seededRandom(9), 1);
				const ref = linearBackward(dy, w, M);
				const gw = uploadLinear(memory, 'w', w);
				const dyb = upload(memory, dy);
				const dx = zeros(memory, M * K);
				const acc = upload(memory, d0);
				const mm = new MatmulKernel(device);
				await run(device, (enc) => {
					mm.encodeBackward(enc, dyb, gw, dx, M, { tile });
					mm.encodeBackward(enc, dyb, gw, acc, M, { accumulate: true, tile });
				});
				expect(relErr(await readF32(device, dx, M * K), ref)).toBeLessThan(1e-5);
				expect(
					relErr(
						await readF32(device, acc, M * K),
						ref.map((v, i) => v + d0[i])
					)
				).toBeLessThan(1e-5);
				memory.freeAll();
			});

	it('a weight split in 3 row chunks, and a row slice with its own dy columns, give the same dx', async () => {
		const { device, memory } = await testDevice();
		const M = 6,
			N = 200,
			K = 64;
		const w = weight('q4f16', N, K, 3);
		const dy = randomArray(M * N, seededRandom(4), 1);
		const gw = uploadLinear(memory, 'w', w, { maxChunkRows: 70 });
		expect(gw.chunks.length).toBe(3);
		const mm = new MatmulKernel(device);
		const dyb = upload(memory, dy);
		const dx = zeros(memory, M * K);
		await run(device, (enc) => mm.encodeBackward(enc, dyb, gw, dx, M));
		expect(relErr(await readF32(device, dx, M * K), linearBackward(dy, w, M))).toBeLessThan(1e-5);
		// rows [64, 128) only (an aligned slice inside the first chunk), dy holding just their columns
		expect(64 % mm.rowAlignment(gw)).toBe(0);
		const dyPart = new Float64Array(M * 64);
		const dyMasked = new Float64Array(M * N); // the same gradient, as full-width dy
		for (let m = 0; m < M; m++)
			for (let n = 0; n < 64; n++) {
				dyPart[m * 64 + n] = dy[m * N + 64 + n];
				dyMasked[m * N + 64 + n] = dy[m * N + 64 + n];
			}
		const dyPb = upload(memory, dyPart);
		const dx2 = zeros(memory, M * K);
		await run(device, (enc) =>
			mm.encodeBackward(enc, dyPb, gw, dx2, M, { rows: { start: 64, count: 64 } })
		);
		expect(relErr(await readF32(device, dx2, M * K), linearBackward(dyMasked, w, M))).toBeLessThan(
			1e-5
		);
		// a slice starting off the alignment is refused, not silently misread
		expect(() =>
			mm.encodeBackward(device.createCommandEncoder(), dyPb, gw, dx2, M, {
				rows: { start: 3, count: 64 }
			})
		).toThrow(/aligned/);
		memory.freeAll();
	});

	it('wgrad: dW += alpha·dyᵀx', async () => {
		const { device, memory } = await testDevice();
		const M = 9,
			N = 5,
			K = 70;
		const dy = randomArray(M * N, seededRandom(1), 1);
		const x = randomArray(M * K, seededRandom(2), 1);
		const w0 = randomArray(N * K, seededRandom(3), 1);
		const ref = new Float64Array(N * K);
		for (let n = 0; n < N; n++)
			for (let k = 0; k < K; k++) {
				let s = 0;
				for (let m = 0; m < M; m++) s += dy[m * N + n] * x[m * K + k];
				ref[n * K + k] = w0[n * K + k] + 0.5 * s;
			}
		const [dyb, xb, dw] = [upload(memory, dy), upload(memory, x), upload(memory, w0)];
		await run(device, (enc) =>
			new MatmulKernel(device).encodeWeightGrad(enc, dyb, xb, dw, M, N, K, {
				alpha: 0.5,
				accumulate: true
			})
		);
		expect(relErr(await readF32(device, dw, N * K), ref)).toBeLessThan(1e-5);
		memory.freeAll();
	});
});

describe('attention backward', () => {
	const T = 11,
		H = 4,
		KV = 2,
		hd = 32;
	// both tile sizes (32 KiB: 8 rows × 8 keys; 16 KiB: 4 × 4), neither dividing T·group = 22 or T
	for (const smallTiles of [false, true])
		for (const window of [4, null])
			it(`dq, dk, dv match attentionBackward: GQA 4/2, softcap reached, causal${window ? ', window 4 < T' : ''}${smallTiles ? ', 16 KiB tiles' : ''}`, async () => {
				const { device, memory } = await testDevice();
				const q = randomArray(T * H * hd, seededRandom(11), 3);
				const k = randomArray(T * KV * hd, seededRandom(12), 1.5);
				const v = randomArray(T * KV * hd, seededRandom(13), 1);
				const da = randomArray(T * H * hd, seededRandom(14), 1);
				const sh = { T, heads: H, kvHeads: KV, hd, scale: 24 ** -0.5, softcap: 2, window };
				const { p } = attentionForward(q, k, v, sh);
				// the softcap is reached: some |q·k·scale| well past the cap
				let maxZ = 0;
				for (let i = 0; i < T; i++)
					for (let j = 0; j <= i; j++) {
						let dot = 0;
						for (let c = 0; c < hd; c++) dot += q[i * H * hd + c] * k[j * KV * hd + c];
						maxZ = Math.max(maxZ, Math.abs(dot * sh.scale));
					}
				expect(maxZ).toBeGreaterThan(2);
				const ref = attentionBackward(da, q, k, v, p, sh);
				const b = {
					q: upload(memory, q),
					k: upload(memory, k),
					v: upload(memory, v),
					da: upload(memory, da),
					out: zeros(memory, T * H * hd),
					dq: zeros(memory, T * H * hd),
					dk: zeros(memory, T * KV * hd),
					dv: zeros(memory, T * KV * hd),
					stats: zeros(memory, T * H * 2)
				};
				const kernel = new AttentionKernel(device, { smallTiles });
				const params = {
					T,
					heads: H,
					kvHeads: KV,
					hd,
					scale: sh.scale,
					softcap: 2,
					window: window ?? 0
				};
				// the forward leaves its output and each row's (m, l) for the backward
				await run(device, (enc) => {
					kernel.encode(
						enc,
						{ q: b.q, k: b.k, v: b.v, out: b.out, stats: b.stats },
						{ ...params, pos0: 0 }
					);
					kernel.encodeBackward(enc, b, params);
				});
				expect(relErr(await readF32(device, b.dq, T * H * hd), ref.dq)).toBeLessThan(1e-5);
				expect(relErr(await readF32(device, b.dk, T * KV * hd), ref.dk)).toBeLessThan(1e-5);
				expect(relErr(await readF32(device, b.dv, T * KV * hd), ref.dv)).toBeLessThan(1e-5);
				kernel.destroy();
				memory.freeAll();
			});
});

describe('fused chunked LM head + softcap + cross-entropy', () => {
	for (const [kind, R] of [
		['f32', 5],
		['q4f16', 3] // ≤ 4 rows: the logits take the GEMV shape
	] as const)
		it(`${kind}, ${R} rows: loss and dh match lmHeadCrossEntropy with the vocabulary in 2 chunks × several blocks, softcap reached`, async () => {
			const { device, memory } = await testDevice();
			const V = 700,
				d = 64,
				eps = 1e-6,
				cap = 3,
				gradScale = 0.25;
			const E = weight(kind, V, d, 21, 0.3);
			const h = randomArray(R * d, seededRandom(22), 2);
			const norm = randomArray(d, seededRandom(23), 1).map((x) => 4 + x);
			const targets = [0, 699, 350, 351, 64].slice(0, R); // first and last id of both chunks
			const hf = rmsnormForward(h, norm, R, d, eps);
			const z = linearForward(hf, E, R);
			expect(z.some((x) => Math.abs(x) > 3 * cap)).toBe(true);
			const ref = lmHeadCrossEntropy(hf, E, cap, targets, gradScale);
			const dhRef = rmsnormBackward(ref.dhf, h, norm, R, d, eps);

			const gw = uploadLinear(memory, 'embed', E, { maxChunkRows: 350 });
			expect(gw.chunks.length).toBe(2);
			const ce = new CrossEntropyKernel(device);
			const blockRows = ce.blockRows(gw, R, R * 4 * 128); // 128 rows (f32) / aligned blocks
			expect(blockRows).toBeLessThan(350);
			const b = {
				h: upload(memory, h),
				finalNorm: upload(memory, norm),
				embed: gw,
				targets: upload(memory, targets, 'u32'),
				hf: zeros(memory, R * d),
				logits: zeros(memory, R * blockRows),
				stats: zeros(memory, R * 4),
				loss: zeros(memory, R),
				dhf: zeros(memory, R * d)
			};
			const dh = zeros(memory, R * d);
			const p = { eps, cap, blockRows };
			await run(device, (enc) => {
				ce.encodeForward(enc, b, R, p);
				ce.encodeBackward(enc, b, dh, R, { ...p, gradScale });
			});
			const loss = await readF32(device, b.loss, R);
			const lossSum = loss.reduce((s, x) => s + x, 0);
			expect(Math.abs(lossSum - ref.lossSum) / ref.lossSum).toBeLessThan(1e-5);
			expect(relErr(await readF32(device, dh, R * d), dhRef)).toBeLessThan(1e-4);
			memory.freeAll();
		});
});
