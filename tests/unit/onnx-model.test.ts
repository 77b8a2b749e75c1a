/**
 * The bench's one-node MatMulNBits ONNX model (scripts/engine-harness/onnx-model.ts): onnxruntime-web
 * (its CPU build, in Node, from the local package: nothing is fetched) parses the bytes and runs
 * them, and the result is MLC's q4 dequantization w = (q − 7) · scale computed here in float64 —
 * with ORT's default zero point (codes shifted by mlcToMatMulNBits) and with explicit zero points.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import {
	matMulNBitsModel,
	mlcToMatMulNBits,
	ONNX_FLOAT
} from '../../scripts/engine-harness/onnx-model';
import { mulberry32 } from '../../src/lib/random';

ort.env.wasm.numThreads = 1;

const K = 96; // three blocks: an odd block count exercises the zero points' padding nibble
const N = 5;
const M = 3;
const next = mulberry32(7);
const q = Uint32Array.from({ length: (N * K) / 8 }, () => {
	let w = 0;
	for (let j = 0; j < 8; j++) w |= Math.floor(next() * 15) << (4 * j); // codes 0…14
	return w >>> 0;
});
const scales = Float32Array.from({ length: (N * K) / 32 }, () => 0.01 + 0.05 * next());
const a = Float32Array.from({ length: M * K }, () => 2 * next() - 1);

/** y = a · ((q − 7) · s)ᵀ in float64. */
function reference(): number[] {
	const y: number[] = [];
	for (let m = 0; m < M; m++)
		for (let n = 0; n < N; n++) {
			let sum = 0;
			for (let k = 0; k < K; k++) {
				const code = (q[(n * K + k) >> 3] >>> (4 * (k & 7))) & 15;
				sum += a[m * K + k] * (code - 7) * scales[n * (K / 32) + (k >> 5)];
			}
			y.push(sum);
		}
	return y;
}

async function run(model: Uint8Array): Promise<{ dims: readonly number[]; y: Float32Array }> {
	const session = await ort.InferenceSession.create(model);
	try {
		const out = await session.run({ A: new ort.Tensor('float32', a, [M, K]) });
		return { dims: out.Y.dims, y: out.Y.data as Float32Array };
	} finally {
		await session.release();
	}
}

const scaleBytes = new Uint8Array(scales.buffer);

describe('matMulNBitsModel', () => {
	it('runs in onnxruntime-web with MLC codes shifted to the default zero point', async () => {
		const { dims, y } = await run(
			matMulNBitsModel({ K, N, dataType: ONNX_FLOAT, b: mlcToMatMulNBits(q), scales: scaleBytes })
		);
		expect(dims).toEqual([M, N]);
		const want = reference();
		for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i], 5);
	});

	it('runs with explicit zero points of 7 on the unshifted codes', async () => {
		const blocks = K / 32;
		const zeroPoints = new Uint8Array(N * Math.ceil(blocks / 2)).fill(0x77);
		const b = new Uint8Array(q.buffer.slice(0));
		const { y } = await run(
			matMulNBitsModel({ K, N, dataType: ONNX_FLOAT, b, scales: scaleBytes, zeroPoints })
		);
		const want = reference();
		for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i], 5);
	});

	it('names the field and the limit of bad input', () => {
		const b = mlcToMatMulNBits(q);
		expect(() =>
			matMulNBitsModel({ K: 40, N, dataType: ONNX_FLOAT, b, scales: scaleBytes })
		).toThrow(/K must be a positive multiple of 32, got 40/);
		expect(() =>
			matMulNBitsModel({ K, N, dataType: ONNX_FLOAT, b: b.subarray(1), scales: scaleBytes })
		).toThrow(/B has 239 bytes, expected 240/);
		expect(() => matMulNBitsModel({ K, N, dataType: 7, b, scales: scaleBytes })).toThrow(
			/dataType must be FLOAT or FLOAT16, got 7/
		);
		expect(() => mlcToMatMulNBits(Uint32Array.of(0xf0))).toThrow(/code 15 at byte 0/);
	});
});
