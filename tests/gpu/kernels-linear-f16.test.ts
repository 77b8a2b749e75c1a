/**
 * The f16 variants of the GEMV and the GEMMs (x and/or W staged as f16, products and sums in f32)
 * against the float64 reference, each output within its stated bound `f16DotBound` (gemv.ts).
 * They run where the adapter has shader-f16: Dawn on lavapipe in the gpu-node layer
 * (tests/gpu-node/kernels-linear-f16.test.ts); in Chromium (SwiftShader, no shader-f16) only the
 * refusal test runs. The f32 paths keep their 1e-5 tests (kernels-gemv, kernels-matmul).
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { linearRow, quantizeQ4, type Linear } from '../../src/lib/model/weights';
import { geluTanh, linearForward } from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import { f16DotBound, GemvKernel } from '../../src/lib/webgpu/kernels/gemv';
import { MatmulKernel } from '../../src/lib/webgpu/kernels/matmul';
import { uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { GpuMemory } from '../../src/lib/webgpu/memory';
import {
	f16TestDevice,
	NO_F16,
	randomArray,
	readF32,
	relErr,
	run,
	testDevice,
	upload,
	zeros
} from './harness';

type Kind = 'f32' | 'q4f16' | 'q4f32';

function weight(kind: Kind, N: number, K: number, seed: number): Linear {
	const data = Float32Array.from(randomArray(N * K, seededRandom(seed), 1 / Math.sqrt(K)));
	if (kind === 'f32') return { kind: 'f32', rows: N, cols: K, data };
	return quantizeQ4(data, N, K, kind === 'q4f16' ? 'f16' : 'f32');
}

/** W as f32 [rows, cols] (dequantized), optionally |W| or Wᵀ. */
function dense(w: Linear, opts: { abs?: boolean; transpose?: boolean } = {}): Linear {
	const { rows, cols } = w;
	const data = new Float32Array(rows * cols);
	const row = new Float32Array(cols);
	for (let n = 0; n < rows; n++) {
		linearRow(w, n, row);
		for (let k = 0; k < cols; k++) {
			const v = opts.abs ? Math.abs(row[k]) : row[k];
			data[opts.transpose ? k * rows + n : n * cols + k] = v;
		}
	}
	return opts.transpose
		? { kind: 'f32', rows: cols, cols: rows, data }
		: { kind: 'f32', rows, cols, data };
}

/**
 * y = x Wᵀ in float64 and each output's f16DotBound, for x [M, W.cols] with x and/or W rounded
 * to f16 by the kernel.
 */
function referenceWithBound(
	x: Float64Array,
	w: Linear,
	M: number,
	round: { x: boolean; w: boolean }
) {
	const { rows: N, cols: K } = w;
	const y = linearForward(x, w, M);
	const absX = x.map(Math.abs);
	const absW = dense(w, { abs: true });
	const absDot = linearForward(absX, absW, M);
	const rowAbsW = linearForward(new Float64Array(K).fill(1), absW, 1);
	const bound = new Float64Array(M * N);
	for (let m = 0; m < M; m++) {
		let sx = 0;
		for (let k = 0; k < K; k++) sx += absX[m * K + k];
		for (let n = 0; n < N; n++)
			bound[m * N + n] = f16DotBound({
				absDot: absDot[m * N + n],
				absX: sx,
				absW: rowAbsW[n],
				K,
				xF16: round.x,
				wF16: round.w
			});
	}
	return { y, bound };
}

/** Largest excess of |got − want| over bound + slack (≤ 0: every output within its bound). */
function excess(
	got: ArrayLike<number>,
	want: ArrayLike<number>,
	bound: ArrayLike<number>,
	slack = 0
) {
	let worst = -Infinity;
	for (let i = 0; i < want.length; i++)
		worst = Math.max(worst, Math.abs(got[i] - want[i]) - bound[i] - slack);
	return worst;
}

const maxAbs = (a: ArrayLike<number>) =>
	Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** The shader-f16 device, or a skip saying why there is none. */
async function f16Device(ctx: TestContext): Promise<GPUDevice | undefined> {
	const device = await f16TestDevice();
	if (!device) ctx.skip(NO_F16);
	return device ?? undefined;
}

// K past the f16 GEMV's 4608-value staging step (two and three steps), rows not multiples of the
// 8-row GEMV block or the 64/128 GEMM tiles.
const GEMV_CASES: { kind: Kind; M: number; K: number; N: number }[] = [
	{ kind: 'q4f16', M: 1, K: 288, N: 45 },
	{ kind: 'q4f16', M: 3, K: 9248, N: 19 },
	{ kind: 'q4f32', M: 2, K: 160, N: 13 },
	{ kind: 'f32', M: 2, K: 4700, N: 11 }
];
// Both tiles for the q4f16 weights of MLC models; 64 only for the others (each pipeline costs up
// to a minute of lavapipe's LLVM on a cold shader cache).
const GEMM_CASES: { kind: Kind; M: number; N: number; K: number; tiles: (64 | 128)[] }[] = [
	{ kind: 'q4f16', M: 131, N: 135, K: 160, tiles: [64, 128] },
	{ kind: 'q4f32', M: 66, N: 33, K: 96, tiles: [64] },
	{ kind: 'f32', M: 67, N: 75, K: 45, tiles: [64] }
];
/** Per test: a cold lavapipe shader cache compiles each pipeline for up to a minute or two. */
const COLD_COMPILE_MS = 600_000;

describe('GEMV and GEMM with f16 storage (devices with shader-f16: Dawn on lavapipe in the gpu-node layer)', () => {
	for (const { kind, M, K, N } of GEMV_CASES)
		it(
			`gemv, x staged as f16, ${kind} M=${M} K=${K} N=${N}: one weight, q/k/v merged, gelu gate — every output within f16DotBound`,
			async (ctx) => {
				const device = await f16Device(ctx);
				if (!device) return;
				const memory = new GpuMemory(device);
				try {
					const reductions = device.features.has('subgroups') ? [false, true] : [false];
					for (const subgroups of reductions) {
						const label = `${kind} M=${M} K=${K} N=${N}${subgroups ? ' subgroups' : ''}`;
						const gemv = new GemvKernel(device, { subgroups });
						expect(gemv.storage).toBe('f16'); // the device's path, chosen at construction
						const f32 = new GemvKernel(device, { subgroups, storage: 'f32' });
						const x = randomArray(M * K, seededRandom(M + K), 1);
						const xb = upload(memory, x);
						const round = { x: true, w: false };

						// one weight, and the same through the f32 path (to show the f16 one ran)
						const w = weight(kind, N, K, 5);
						const gw = uploadLinear(memory, 'w', w);
						const [yb, y32] = [zeros(memory, M * N), zeros(memory, M * N)];
						await run(device, (enc) => {
							gemv.encode(enc, xb, gw, yb, M);
							f32.encode(enc, xb, gw, y32, M);
						});
						const one = referenceWithBound(x, w, M, round);
						const got = await readF32(device, yb, M * N);
						expect(excess(got, one.y, one.bound), label).toBeLessThanOrEqual(0);
						expect(relErr(await readF32(device, y32, M * N), one.y)).toBeLessThan(1e-5);
						expect(relErr(got, one.y), `${label}: f16 rounding shows`).toBeGreaterThan(1e-6);

						// q, k, v merged: rows side by side
						const ws = [N, 7, 9].map((n, i) => weight(kind, n, K, 10 + i));
						const rows = N + 16;
						const ym = zeros(memory, M * rows);
						const gws = ws.map((wi, i) => uploadLinear(memory, `w${i}`, wi));
						await run(device, (enc) => gemv.encodeMerged(enc, xb, gws, ym, M));
						const merged = await readF32(device, ym, M * rows);
						let col = 0;
						for (const wi of ws) {
							const r = referenceWithBound(x, wi, M, round);
							const part = new Float64Array(M * wi.rows);
							for (let m = 0; m < M; m++)
								for (let n = 0; n < wi.rows; n++)
									part[m * wi.rows + n] = merged[m * rows + col + n];
							expect(excess(part, r.y, r.bound), `${label} merged`).toBeLessThanOrEqual(0);
							col += wi.rows;
						}

						// gelu(x gateᵀ) ⊙ (x upᵀ): the f16DotBound of g and u carried through
						// |Δ(gelu(g)·u)| ≤ 1.13·Δg·(|u| + Δu) + |gelu(g)|·Δu (1.13 ≥ max |gelu_tanh'|),
						// plus the f32 path's own 1e-5 of max |y| for the epilogue's f32 maths.
						const [gate, up] = [weight(kind, N, K, 20), weight(kind, N, K, 21)];
						const yg = zeros(memory, M * N);
						await run(device, (enc) =>
							gemv.encodeGeluGate(
								enc,
								xb,
								uploadLinear(memory, 'g', gate),
								uploadLinear(memory, 'u', up),
								yg,
								M
							)
						);
						const g = referenceWithBound(x, gate, M, round);
						const u = referenceWithBound(x, up, M, round);
						const want = g.y.map((v, i) => geluTanh(v) * u.y[i]);
						const bound = want.map(
							(_, i) =>
								1.13 * g.bound[i] * (Math.abs(u.y[i]) + u.bound[i]) +
								Math.abs(geluTanh(g.y[i])) * u.bound[i]
						);
						const gotGelu = await readF32(device, yg, M * N);
						const slack = 1e-5 * maxAbs(want);
						expect(excess(gotGelu, want, bound, slack), `${label} gelu`).toBeLessThanOrEqual(0);
						memory.freeAll();
					}
				} finally {
					memory.freeAll();
				}
			},
			COLD_COMPILE_MS
		);

	for (const { kind, M, N, K, tiles } of GEMM_CASES)
		it(
			`gemm (x and W tiles in f16) and gemm_dx (W tile in f16, dy f32), ${kind} M=${M} N=${N} K=${K}, tiles ${tiles.join(' and ')} — every output within f16DotBound`,
			async (ctx) => {
				const device = await f16Device(ctx);
				if (!device) return;
				const memory = new GpuMemory(device);
				try {
					const mm = new MatmulKernel(device);
					expect(mm.storage).toBe('f16');
					for (const tile of tiles) {
						const label = `${kind} M=${M} N=${N} K=${K} tile ${tile}`;
						const w = weight(kind, N, K, N * 31 + K);
						const gw = uploadLinear(memory, 'w', w);

						const x = randomArray(M * K, seededRandom(M + K), 1);
						const y = zeros(memory, M * N);
						await run(device, (enc) =>
							mm.encode(enc, upload(memory, x), gw, y, M, { shape: 'gemm', tile })
						);
						const fwd = referenceWithBound(x, w, M, { x: true, w: true });
						const got = await readF32(device, y, M * N);
						expect(excess(got, fwd.y, fwd.bound), label).toBeLessThanOrEqual(0);
						expect(relErr(got, fwd.y), `${label}: f16 rounding shows`).toBeGreaterThan(1e-6);

						// dx = dy W: y = dy (Wᵀ)ᵀ, W rounded, dy not (gradients far below 1 stay exact)
						const dy = randomArray(M * N, seededRandom(M * N), 1e-6);
						const dx = zeros(memory, M * K);
						await run(device, (enc) =>
							mm.encodeBackward(enc, upload(memory, dy), gw, dx, M, { tile })
						);
						const bwd = referenceWithBound(dy, dense(w, { transpose: true }), M, {
							x: false,
							w: true
						});
						const gotDx = await readF32(device, dx, M * K);
						expect(excess(gotDx, bwd.y, bwd.bound), `${label} dx`).toBeLessThanOrEqual(0);
						memory.freeAll();
					}
				} finally {
					memory.freeAll();
				}
			},
			COLD_COMPILE_MS
		);

	it('refuses f16 storage on a device without shader-f16 (and does not choose it there)', async () => {
		const { device } = await testDevice();
		expect(() => new GemvKernel(device, { storage: 'f16' })).toThrow(/shader-f16/);
		expect(() => new MatmulKernel(device, { storage: 'f16' })).toThrow(/shader-f16/);
		expect(new GemvKernel(device).storage).toBe('f32');
		expect(new MatmulKernel(device).storage).toBe('f32');
	});
});
