/**
 * The memory plan of Gemma2Backward (backward.ts) and of a whole LoRA training run, with no GPU
 * code: the Train page estimates a run before anything is allocated (and in a browser without
 * WebGPU), and Gemma2Backward allocates exactly backwardBufferPlan.
 */
import type { Gemma2Config } from '../../model/config';

/** Default budget of one block of logits in the fused cross-entropy (R × Vb × 4 bytes). */
export const CE_BLOCK_BYTES = 16 << 20;

/**
 * Every buffer of a Gemma2Backward: [label, f32 count, purpose]. T = maxTokens, R = T − 1 rows of
 * the loss, Vb = vocabulary rows per block of logits. Gemma2Backward's constructor allocates exactly
 * this list; plannedBackwardBytes sums it (e.g. for 2B before anything is allocated).
 */
export function backwardBufferPlan(
	c: Gemma2Config,
	T: number,
	Vb: number
): { act: [string, number][]; grad: [string, number][]; loss: [string, number][]; ckpt: number } {
	const R = Math.max(1, T - 1);
	const d = c.hiddenSize;
	const qw = c.numHeads * c.headDim;
	const kvw = c.numKvHeads * c.headDim;
	const I = c.intermediateSize;
	return {
		ckpt: T * d,
		act: [
			['ids', T],
			['h', T * d],
			['h_mid', T * d],
			['x', T * d],
			['q', T * qw],
			['k', T * kvw],
			['v', T * kvw],
			['a', T * qw],
			['o', T * d],
			['x2', T * d],
			['gate', T * I],
			['up', T * I],
			['gelu', T * I],
			['f', T * d]
		],
		grad: [
			['dh', T * d],
			['dy', T * d],
			['dx', T * d],
			['dgelu', T * I],
			['da', T * qw],
			['dq', T * qw],
			['dk', T * kvw],
			['dv', T * kvw],
			['attn_stats', T * c.numHeads * 2]
		],
		loss: [
			['targets', R],
			['h_rows', R * d],
			['hf', R * d],
			['logits_block', R * Vb],
			['stats', R * 4],
			['per_row', R],
			['read', R],
			['dhf', R * d],
			['dh_rows', R * d]
		]
	};
}

/**
 * Bytes a Gemma2Backward would allocate for `config` at `maxTokens` (cross-entropy blocks of
 * `ceBlockBytes`), without allocating: the memory plan of a model before it is loaded.
 */
export function plannedBackwardBytes(
	config: Gemma2Config,
	maxTokens: number,
	ceBlockBytes = CE_BLOCK_BYTES
): { checkpoints: number; layer: number; loss: number; total: number } {
	const R = Math.max(1, maxTokens - 1);
	const Vb = Math.max(1, Math.min(config.vocabSize, Math.floor(ceBlockBytes / (R * 4))));
	const plan = backwardBufferPlan(config, maxTokens, Vb);
	const sum = (g: [string, number][]) => g.reduce((s, [, n]) => s + n * 4, 0);
	const checkpoints = config.numLayers * plan.ckpt * 4;
	const layer = sum(plan.act) + sum(plan.grad);
	const loss = sum(plan.loss);
	return { checkpoints, layer, loss, total: checkpoints + layer + loss };
}

export interface TrainingMemoryInput {
	config: Gemma2Config;
	/** The longest example, in tokens. */
	tokens: number;
	/** Trainable LoRA parameters (Σ r·(in + out) over the adapted modules) and the largest rank. */
	loraParams: number;
	maxRank: number;
	/** The loaded engine's own buffers (ModelInfo.gpuBytes.byPurpose): weights and activations. */
	weightsBytes: number;
	engineActivationBytes: number;
}

/**
 * GPU memory of a studio training run: the engine's weights and activations (its KV cache is
 * released while training), the backward (plannedBackwardBytes), LoRA parameters and gradients,
 * AdamW's two moments, and the LoRA scratch u, g [T, max r]. Segment alignment is not counted (a
 * few KB). Gemma-2 2B at 512 tokens, r = 16 on all seven projections: ≈ 2,030 MiB.
 */
export function trainingMemoryPlan(i: TrainingMemoryInput): {
	weights: number;
	engine: number;
	backward: number;
	lora: number;
	optimizer: number;
	scratch: number;
	total: number;
} {
	const parts = {
		weights: i.weightsBytes,
		engine: i.engineActivationBytes,
		backward: plannedBackwardBytes(i.config, i.tokens).total,
		lora: 8 * i.loraParams,
		optimizer: 8 * i.loraParams,
		scratch: 2 * i.tokens * i.maxRank * 4
	};
	return { ...parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}
