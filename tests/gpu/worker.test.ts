import { afterAll, describe, expect, it } from 'vitest';
import { engine, terminateEngine } from '../../src/lib/engine/client';

describe('engine worker (as the app runs it)', () => {
	afterAll(() => terminateEngine());

	it('reports a WebGPU adapter with the limits the model needs', async () => {
		const r = await engine().gpuReport();
		expect(r.available).toBe(true);
		expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
		expect(r.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
	});

	it('runs the RMSNorm kernel inside the worker and matches the float64 reference', async () => {
		const check = await engine().kernelCheck(333, 7);
		expect(check.maxRelError).toBeLessThan(1e-5);
	});
});
