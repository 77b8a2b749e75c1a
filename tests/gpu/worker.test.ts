import { afterAll, describe, expect, it } from 'vitest';
import { worker, terminateWorker } from '../../src/lib/worker/client';
import { rmsnormForward } from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import { isSessionError } from '../../src/lib/session/errors';

describe('model worker (as the app runs it)', () => {
	afterAll(() => terminateWorker());

	it('reports a WebGPU adapter with the limits the model needs', async () => {
		const r = await worker().gpuReport();
		expect(r.available).toBe(true);
		expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
		expect(r.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
	});

	it('runs the RMSNorm kernel inside the worker and matches the float64 reference', async () => {
		const [rows, size, eps] = [3, 333, 1e-6];
		const rnd = seededRandom(7);
		const x = Float32Array.from({ length: rows * size }, () => rnd() * 4 - 2);
		const weight = Float32Array.from({ length: size }, () => 0.5 + rnd());
		const got = await worker().kernelCheck({ x, weight, rows, size, eps });
		const want = rmsnormForward(Float64Array.from(x), weight, rows, size, eps);
		let maxRelError = 0;
		for (let i = 0; i < want.length; i++)
			maxRelError = Math.max(
				maxRelError,
				Math.abs(got[i] - want[i]) / Math.max(1e-6, Math.abs(want[i]))
			);
		const check = { maxRelError };
		expect(check.maxRelError).toBeLessThan(1e-5);
	});

	it('says NoModelLoaded as a typed error, code and parameters intact across comlink', async () => {
		const error = await worker()
			.encode(['hello'])
			.then(() => null)
			.catch((e: unknown) => e);
		expect(isSessionError(error, 'no-model-loaded')).toBe(true);
	});
});
