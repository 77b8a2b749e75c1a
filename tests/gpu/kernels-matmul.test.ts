import { describe, expect, it } from 'vitest';
import { quantizeQ4, type Linear } from '../../src/lib/model/weights';
import { linearForward } from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import { MatmulKernel } from '../../src/lib/webgpu/kernels/matmul';
import { planChunks, uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { randomArray, readF32, relErr, run, testDevice, upload, zeros } from './harness';

function weight(kind: 'f32' | 'q4f16' | 'q4f32', N: number, K: number, seed: number): Linear {
	const data = Float32Array.from(randomArray(N * K, seededRandom(seed), 1 / Math.sqrt(K)));
	if (kind === 'f32') return { kind: 'f32', rows: N, cols: K, data };
	return quantizeQ4(data, N, K, kind === 'q4f16' ? 'f16' : 'f32');
}

// Sizes are deliberately not multiples of the 8-row GEMV block, the 64×64 GEMM tile or the
// 32-wide K step; q4 needs K % 32 == 0 (the quantization group).
const CASES: { kind: 'f32' | 'q4f16' | 'q4f32'; M: number; N: number; K: number }[] = [
	{ kind: 'f32', M: 1, N: 37, K: 70 },
	{ kind: 'f32', M: 3, N: 70, K: 33 },
	{ kind: 'f32', M: 67, N: 75, K: 45 },
	{ kind: 'q4f16', M: 1, N: 45, K: 96 },
	{ kind: 'q4f16', M: 70, N: 67, K: 160 },
	{ kind: 'q4f32', M: 1, N: 19, K: 64 },
	{ kind: 'q4f32', M: 66, N: 33, K: 96 },
	{ kind: 'q4f16', M: 131, N: 135, K: 96 }
];

describe('matmul y = x Wᵀ matches the float64 reference', () => {
	for (const { kind, M, N, K } of CASES) {
		// the GEMM in both tiles: 64×64 (4×4 per thread) and 128×128 (8×8, k steps of 16)
		for (const [shape, tile] of [
			['gemv', undefined],
			['gemm', 64],
			['gemm', 128]
		] as const) {
			it(`${kind} ${shape}${tile ? ` ${tile}` : ''} M=${M} N=${N} K=${K}`, async () => {
				const { device, memory } = await testDevice();
				const w = weight(kind, N, K, N * 31 + K);
				const x = randomArray(M * K, seededRandom(M + K), 1);
				const ref = linearForward(x, w, M);
				const gw = uploadLinear(memory, 'w', w);
				const xb = upload(memory, x);
				const yb = zeros(memory, M * N);
				const mm = new MatmulKernel(device);
				await run(device, (enc) => mm.encode(enc, xb, gw, yb, M, { shape, tile }));
				expect(relErr(await readF32(device, yb, M * N), ref)).toBeLessThan(1e-5);
				memory.freeAll();
			});
		}
	}

	it('accumulate adds into y, and a row-split weight writes each chunk into its own columns of a wider y', async () => {
		const { device, memory } = await testDevice();
		const M = 2,
			N = 29,
			K = 64,
			ldy = 40,
			yOffset = 5;
		const w = weight('q4f16', N, K, 7);
		const x = randomArray(M * K, seededRandom(3), 1);
		const ref = linearForward(x, w, M);
		const y0 = randomArray(M * ldy, seededRandom(4), 1);
		const gw = uploadLinear(memory, 'w', w, { maxChunkRows: 8 });
		expect(gw.chunks.map((c) => c.rows)).toEqual([8, 8, 8, 5]);
		const xb = upload(memory, x);
		const yb = upload(memory, y0);
		const mm = new MatmulKernel(device);
		await run(device, (enc) => mm.encode(enc, xb, gw, yb, M, { ldy, yOffset, accumulate: true }));
		const y = await readF32(device, yb, M * ldy);
		const expected = Float64Array.from(y0);
		for (let m = 0; m < M; m++)
			for (let n = 0; n < N; n++) expected[m * ldy + yOffset + n] += ref[m * N + n];
		expect(relErr(y, expected)).toBeLessThan(1e-5);
		memory.freeAll();
	});
});

describe('weight split planning', () => {
	it('splits the 2B q4 embedding (256000 × 288 words) under a 128 MiB binding limit into equal row chunks', async () => {
		const { device } = await testDevice();
		const rows = planChunks(256000, 288 * 4, device, { maxChunkBytes: 134217728 });
		expect(rows.reduce((a, b) => a + b, 0)).toBe(256000);
		expect(rows.length).toBe(3);
		for (const r of rows) expect(r * 288 * 4).toBeLessThanOrEqual(134217728);
	});
});
