/**
 * The memory plan of Gemma2Backward (backward.ts) and of a whole LoRA training run, with no GPU
 * code: the Train page estimates a run before anything is allocated (and in a browser without
 * WebGPU), and Gemma2Backward allocates exactly backwardBufferPlan.
 */
import type { Gemma2Config } from '../../model/config';
import { memoryPlan } from '../memory';

/** Default budget of one block of logits in the fused cross-entropy (R × Vb × 4 bytes). */
export const CE_BLOCK_BYTES = 16 << 20;

/**
 * Every buffer of a Gemma2Backward, as typed memory plans keyed by the fields backward.ts uses
 * (T = maxTokens, R = T − 1 rows of the loss, Vb = vocabulary rows per block of logits; counts
 * of f32/u32 elements). Gemma2Backward's constructor allocates exactly these plans (GpuMemory
 * allocPlan); plannedBackwardBytes sums them (e.g. for 2B before anything is allocated).
 */
export function backwardBufferPlan(c: Gemma2Config, T: number, Vb: number) {
	const R = Math.max(1, T - 1);
	const d = c.hiddenSize;
	const qw = c.numHeads * c.headDim;
	const kvw = c.numKvHeads * c.headDim;
	const I = c.intermediateSize;
	const ckpt = Object.fromEntries(Array.from({ length: c.numLayers }, (_, L) => [L, T * d]));
	return {
		/** ids [T] u32, the forward's input, and h [T, d], the last layer's output. */
		io: memoryPlan('backward.io', 'activations', { ids: T, h: T * d }),
		/** ckpt.L [T, d]: the residual stream entering layer L. */
		ckpt: memoryPlan('backward.ckpt', 'activations', ckpt),
		/**
		 * One layer's forward intermediates (layer.ts LayerBuffers), recomputed from its checkpoint
		 * during the backward; h is hMid, the residual stream after the attention block.
		 */
		layer: memoryPlan('backward.layer', 'activations', {
			h: T * d,
			x: T * d,
			q: T * qw,
			k: T * kvw,
			v: T * kvw,
			a: T * qw,
			o: T * d,
			x2: T * d,
			gate: T * I,
			up: T * I,
			act: T * I,
			f: T * d
		}),
		/**
		 * One layer's gradients (reused by every layer). ∂/∂gate and ∂/∂up are written over
		 * layer.gate and layer.up (dead by then), so the layer holds four [T, I] buffers, not six.
		 */
		grad: memoryPlan('backward.grad', 'activations', {
			dh: T * d, // ∂/∂(residual stream), carried from layer to layer
			dy: T * d, // ∂/∂f, then ∂/∂o
			dx: T * d, // ∂/∂x2, then ∂/∂x
			dg: T * I, // ∂/∂act
			da: T * qw,
			dq: T * qw,
			dk: T * kvw,
			dv: T * kvw,
			attnStats: T * c.numHeads * 2 // [T, H, 2] the attention's softmax statistics
		}),
		/** The cross-entropy's rows (R ≤ T − 1 supervised positions). */
		loss: memoryPlan('backward.loss', 'scratch', {
			targets: R, // u32
			hRows: R * d, // residual rows gathered at the supervised positions
			hf: R * d,
			logits: R * Vb, // one block of logits
			stats: R * 4,
			loss: R,
			lossRead: { readback: R },
			dhf: R * d,
			dhRows: R * d
		})
	};
}

export type BackwardBufferPlan = ReturnType<typeof backwardBufferPlan>;

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
	const checkpoints = plan.ckpt.total;
	const layer = plan.io.total + plan.layer.total + plan.grad.total;
	const loss = plan.loss.total;
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
