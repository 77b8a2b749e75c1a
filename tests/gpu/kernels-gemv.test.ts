import { describe, expect, it } from 'vitest';
import { quantizeQ4, type Linear } from '../../src/lib/model/weights';
import { geluTanh, linearForward, softcap } from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import { GemvKernel } from '../../src/lib/webgpu/kernels/gemv';
import { uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { randomArray, readF32, relErr, run, testDevice, upload, zeros } from './harness';

type Kind = 'f32' | 'q4f16' | 'q4f32';

function weight(kind: Kind, N: number, K: number, seed: number): Linear {
	const data = Float32Array.from(randomArray(N * K, seededRandom(seed), 1 / Math.sqrt(K)));
	if (kind === 'f32') return { kind: 'f32', rows: N, cols: K, data };
	return quantizeQ4(data, N, K, kind === 'q4f16' ? 'f16' : 'f32');
}

/** Reference rows of W_0; W_1; … for each of the M tokens, side by side: [M, ΣN]. */
function merged(x: Float64Array, ws: Linear[], M: number): Float64Array {
	const refs = ws.map((w) => linearForward(x, w, M));
	const N = ws.reduce((n, w) => n + w.rows, 0);
	const out = new Float64Array(M * N);
	for (let m = 0; m < M; m++) {
		let col = 0;
		ws.forEach((w, i) => {
			out.set(refs[i].subarray(m * w.rows, (m + 1) * w.rows), m * N + col);
			col += w.rows;
		});
	}
	return out;
}

// K: not a multiple of the 32 lanes × 2 accumulators (f32), q4 rows of 3, 5, 9 groups; rows not
// multiples of the 8-row (4-pair) workgroup.
const SHAPES: { kind: Kind; M: number; K: number; rows: [number, number, number] }[] = [
	{ kind: 'f32', M: 1, K: 70, rows: [37, 11, 11] },
	{ kind: 'f32', M: 3, K: 33, rows: [21, 5, 5] },
	{ kind: 'q4f16', M: 1, K: 96, rows: [45, 13, 13] },
	{ kind: 'q4f16', M: 2, K: 288, rows: [64, 32, 32] },
	{ kind: 'q4f32', M: 1, K: 160, rows: [19, 7, 9] }
];

const device = (await testDevice()).device;
const paths = device.features.has('subgroups') ? [false, true] : [false];

for (const subgroups of paths) {
	describe(`gemv (${subgroups ? 'subgroup' : 'shared-memory'} reduction) matches the float64 reference`, () => {
		for (const { kind, M, K, rows } of SHAPES) {
			const label = `${kind} M=${M} K=${K}`;
			const x = randomArray(M * K, seededRandom(M + K), 1);

			it(`${label}: one weight, y += x Wᵀ into a wider y`, async () => {
				const { memory } = await testDevice();
				const w = weight(kind, rows[0], K, 5);
				const ldy = rows[0] + 7;
				const y0 = randomArray(M * ldy, seededRandom(4), 1);
				const yb = upload(memory, y0);
				const gemv = new GemvKernel(device, { subgroups });
				await run(device, (enc) =>
					gemv.encode(enc, upload(memory, x), uploadLinear(memory, 'w', w), yb, M, {
						ldy,
						yOffset: 3,
						accumulate: true
					})
				);
				const ref = linearForward(x, w, M);
				const expected = Float64Array.from(y0);
				for (let m = 0; m < M; m++)
					for (let n = 0; n < rows[0]; n++) expected[m * ldy + 3 + n] += ref[m * rows[0] + n];
				expect(relErr(await readF32(device, yb, M * ldy), expected)).toBeLessThan(1e-5);
				memory.freeAll();
			});

			it(`${label}: q, k, v merged in one dispatch`, async () => {
				const { memory } = await testDevice();
				const ws = rows.map((n, i) => weight(kind, n, K, 10 + i));
				const N = rows[0] + rows[1] + rows[2];
				const yb = zeros(memory, M * N);
				const gemv = new GemvKernel(device, { subgroups });
				const gws = ws.map((w, i) => uploadLinear(memory, `w${i}`, w));
				await run(device, (enc) => gemv.encodeMerged(enc, upload(memory, x), gws, yb, M));
				expect(relErr(await readF32(device, yb, M * N), merged(x, ws, M))).toBeLessThan(1e-5);
				memory.freeAll();
			});

			it(`${label}: gate and up with gelu in the epilogue`, async () => {
				const { memory } = await testDevice();
				const N = rows[0];
				// large gates reach gelu's saturation
				const gate = weight(kind, N, K, 20);
				const up = weight(kind, N, K, 21);
				const xs = Float64Array.from(x, (v) => v * 3);
				const yb = zeros(memory, M * N);
				const gemv = new GemvKernel(device, { subgroups });
				await run(device, (enc) =>
					gemv.encodeGeluGate(
						enc,
						upload(memory, xs),
						uploadLinear(memory, 'g', gate),
						uploadLinear(memory, 'u', up),
						yb,
						M
					)
				);
				const g = linearForward(xs, gate, M);
				const u = linearForward(xs, up, M);
				const expected = g.map((v, i) => geluTanh(v) * u[i]);
				expect(relErr(await readF32(device, yb, M * N), expected)).toBeLessThan(1e-5);
				memory.freeAll();
			});

			it(`${label}: softcap in the epilogue, the weight split into row chunks`, async () => {
				const { memory } = await testDevice();
				const N = rows[0];
				const w = weight(kind, N, K, 30);
				const xs = Float64Array.from(x, (v) => v * 20);
				const yb = zeros(memory, M * N);
				const gemv = new GemvKernel(device, { subgroups });
				const gw = uploadLinear(memory, 'w', w, { maxChunkRows: 8 });
				await run(device, (enc) => gemv.encode(enc, upload(memory, xs), gw, yb, M, { softcap: 3 }));
				const expected = linearForward(xs, w, M).map((v) => softcap(v, 3));
				expect(expected.some((v) => Math.abs(v) > 2.9)).toBe(true);
				expect(relErr(await readF32(device, yb, M * N), expected)).toBeLessThan(1e-5);
				memory.freeAll();
			});
		}
	});
}
