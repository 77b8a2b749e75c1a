import { expect, it } from 'vitest';
import { runRace } from '../../scripts/engine-harness/race';
import { testDevice } from './harness';

/**
 * The bench's MatMulNBits race on tiny shapes, in Chromium: onnxruntime-web's WebGPU MatMulNBits
 * (served from the local package, nothing fetched) runs on our device with our weights, and its
 * output equals our q4 GEMV (M = 1) and GEMM (M = 8). Only the agreement is asserted; the timed
 * figures are the bench's (never a test's).
 */
it('onnxruntime-web MatMulNBits and our q4 GEMV/GEMM agree on the same device', async () => {
	const { device } = await testDevice();
	const race = await runRace(device, {
		shapes: [{ name: 'tiny', N: 72, K: 96 }],
		ms: [1, 8],
		rounds: 1,
		roundMs: 1
	});
	expect(race.error).toBeUndefined();
	const ran = race.rows.filter((r) => !r.skipped);
	expect(ran.map((r) => `${r.dtype} M=${r.M}`)).toEqual(
		device.features.has('shader-f16')
			? ['f32 M=1', 'f32 M=8', 'f16 M=1', 'f16 M=8']
			: ['f32 M=1', 'f32 M=8']
	);
	for (const r of ran) {
		expect(r.agree, `${r.dtype} M=${r.M}: max abs diff ${r.maxAbsDiff}`).toBe(true);
		expect(r.maxAbsY).toBeGreaterThan(0.1);
		expect(r.rounds).toBe(1);
	}
});
