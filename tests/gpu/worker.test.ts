import { afterAll, describe, expect, it } from 'vitest';
import { worker, terminateWorker } from '../../src/lib/worker/client';

describe('model worker (as the app runs it)', () => {
	afterAll(() => terminateWorker());

	it('reports a WebGPU adapter with the limits the model needs', async () => {
		const r = await worker().gpuReport();
		expect(r.available).toBe(true);
		expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
		expect(r.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
	});

	it('runs the RMSNorm kernel inside the worker and matches the float64 reference', async () => {
		const check = await worker().kernelCheck(333, 7);
		expect(check.maxRelError).toBeLessThan(1e-5);
	});
});
