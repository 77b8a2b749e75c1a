/**
 * What a training run will cost before it starts: optimizer steps (the Trainer's plan), tokens to
 * process, and GPU memory (webgpu/gemma2/backward-plan.ts: weights and the engine's activations,
 * the backward's checkpoints and one layer, LoRA parameters, gradients and AdamW moments; chat's
 * KV cache is freed while training). Tokens are counted from characters by one rule until the
 * run tokenizes them.
 */
import type { Gemma2Config } from '../model/config';
import { trainingMemoryPlan } from '../webgpu/gemma2/backward-plan';
import { resolveLoraModules } from './adapter';
import type { LoraConfig, TrainingArguments } from './config';
import { trainingPlan } from './schedule';

/** Characters per token, for an estimate only (Gemma's tokenizer on English and Japanese chat). */
export const CHARS_PER_TOKEN = 3;
/** Characters the chat template adds around each turn (<start_of_turn>role\n … <end_of_turn>\n). */
const TURN_OVERHEAD_CHARS = 32;

export interface EstimateInput {
	config: Gemma2Config;
	training: TrainingArguments;
	lora: LoraConfig;
	/** The dataset's training examples. */
	examples: { messages: { content: string }[] }[];
	/** What the loaded engine holds already (ModelInfo.gpuBytes.byPurpose). */
	weightsBytes: number;
	engineActivationBytes: number;
}

export interface TrainingEstimate {
	steps: number;
	epochs: number;
	tokens: number;
	/** The longest example, which sizes the backward's activations. */
	maxTokens: number;
	loraParams: number;
	gpuBytes: number;
}

const tokensOf = (e: { messages: { content: string }[] }) =>
	Math.ceil(
		e.messages.reduce((n, m) => n + m.content.length + TURN_OVERHEAD_CHARS, 0) / CHARS_PER_TOKEN
	);

/** Throws what resolveLoraModules / trainingPlan throw for arguments the run would refuse. */
export function estimateTraining(i: EstimateInput): TrainingEstimate {
	const modules = resolveLoraModules(i.config, i.lora);
	const loraParams = modules.reduce((n, m) => n + m.r * (m.in + m.out), 0);
	const plan = trainingPlan(i.training, i.examples.length);
	const epochs = plan.totalSteps / plan.updatesPerEpoch;
	const perExample = i.examples.map(tokensOf);
	const maxTokens = Math.min(i.config.contextLength, Math.max(1, ...perExample));
	const memory = trainingMemoryPlan({
		config: i.config,
		tokens: maxTokens,
		loraParams,
		maxRank: Math.max(...modules.map((m) => m.r)),
		weightsBytes: i.weightsBytes,
		engineActivationBytes: i.engineActivationBytes
	});
	return {
		steps: plan.totalSteps,
		epochs,
		tokens: Math.round(perExample.reduce((a, b) => a + b, 0) * epochs),
		maxTokens,
		loraParams,
		gpuBytes: memory.total
	};
}
