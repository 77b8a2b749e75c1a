/**
 * The whole engine on its f16 paths (attention tiles, GEMV input, GEMM tiles in f16; f32
 * accumulation) against the float64 reference: a device with shader-f16, i.e. the gpu-node layer
 * on lavapipe (tests/gpu-node/engine-f16.test.ts); skipped in Chromium (SwiftShader).
 */
import { expect, it } from 'vitest';
import { referenceForward, referenceGenerate } from '../../src/lib/reference/gemma2';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { kernelPaths } from '../../src/lib/webgpu/device';
import { collect, f16TestDevice, NO_F16, relErr } from './harness';

const IDS = [2, 17, 300, 45, 45, 9, 511, 106, 64, 7, 250];

/**
 * The logits' error budget, relative to max |logit|: each f16 rounding level on the path moves
 * what it feeds by at most 2^-10 relative (x and W each 2^-11 in the GEMMs, f16DotBound; q, k, v
 * in attention's tiles), and the tiny model has 16 such levels in a row — per layer qkv,
 * attention, o, gate/up, down (3 layers), then the LM head. RMSNorm, the softcaps (slope ≤ 1) and
 * the residual adds do not grow a relative error; gelu's slope is ≤ 1.13. So 16 · 2^-10 ≈ 1.6e-2
 * (a budget adding the levels, not a proof over the random weights).
 */
const TOLERANCE = 16 * 2 ** -10;

it('prefill logits within the f16 tolerance of the float64 reference, and greedy decoding follows it', async (ctx) => {
	const device = await f16TestDevice();
	if (!device) return ctx.skip(NO_F16);
	expect(kernelPaths(device).f16).toEqual(['attention', 'gemv', 'gemm']);
	const w = randomWeights(TINY_CONFIG, 5, 'q4f16');
	const engine = await Gemma2Engine.create(device, w, { maxTokens: 64 });
	try {
		const ref = referenceForward(w, IDS);
		const err = relErr(await engine.forwardLogits(IDS), ref);
		console.log(`f16 paths: logits max error ${err.toExponential(2)} of max |logit|`);
		expect(err).toBeLessThan(TOLERANCE);
		expect(err).toBeGreaterThan(1e-5); // the f16 paths ran (f32: within 1e-5, engine-forward)
		// decoding runs the f16 GEMV; greedy ids follow the reference's
		engine.reset();
		const prompt = IDS.slice(0, 6);
		const ids = engine.generate(prompt, { temperature: 0 }, { maxNewTokens: 5, stopIds: [] });
		expect(await collect(ids)).toEqual(referenceGenerate(w, prompt, 5, []));
	} finally {
		engine.destroy();
	}
}, 900_000);
