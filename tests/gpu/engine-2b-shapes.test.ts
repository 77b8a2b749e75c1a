import { expect, it } from 'vitest';
import type { Gemma2Config } from '../../src/lib/model/config';
import { referenceForward } from '../../src/lib/reference/gemma2';
import { GEMMA2_2B_CONFIG, randomWeights } from '../../src/lib/reference/random-model';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { relErr, testDevice } from './harness';

// The real 2B widths (d 2304, I 9216, 8 heads / 4 kv heads of 256, query_pre_attn_scalar 224) on
// two layers (one sliding, one global) and a small vocabulary: the kernels' real K and N, which
// the tiny model never reaches (K = 9216 in down_proj, head_dim 256, 288-word q4 rows).
const CONFIG: Gemma2Config = {
	...GEMMA2_2B_CONFIG,
	numLayers: 2,
	vocabSize: 1024,
	slidingWindow: 3
};

// ~2.5 minutes on SwiftShader (CPU reference + random 2B-wide weights), so opt-in:
//   VITE_GPU_BIG=1 npx vitest run --project gpu tests/gpu/engine-2b-shapes.test.ts
it.skipIf(import.meta.env.VITE_GPU_BIG !== '1')(
	'2B-shaped q4f16 model: prefill logits and a decode step match the reference',
	async () => {
		const { device } = await testDevice();
		const w = randomWeights(CONFIG, 3, 'q4f16');
		const ids = [2, 100, 7, 900, 33];
		const ref = referenceForward(w, ids);
		const engine = await Gemma2Engine.create(device, w, { maxTokens: 16 });
		try {
			expect(
				relErr(await engine.forwardLogits(ids.slice(0, 4)), ref.subarray(0, 4 * 1024))
			).toBeLessThan(1e-4);
			await engine.append([ids[4]]);
			expect(relErr(await engine.lastLogits(), ref.subarray(4 * 1024))).toBeLessThan(1e-4);
		} finally {
			engine.destroy();
		}
	},
	600_000
);
