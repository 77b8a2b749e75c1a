/**
 * The one training stack: a trainable LoRA adapter hung on an engine's projections, the backward
 * over both, and the trainer (with its AdamW moments). The studio's job (training-job.ts), the
 * engine CLI's `train` (scripts/engine-harness/harness.ts) and the bench build it here, so all
 * three allocate the same buffers in the same order.
 *
 * The engine's KV cache is freed while the stack lives (the backward keeps its own activations;
 * Gemma-2 2B at 4,096 tokens: 436 MB); `destroy()` frees the stack, gives the engine back the
 * adapter it had before (chat's, or none) and allocates an empty KV cache again. A failed
 * allocation is an OutOfMemory session error, with everything made so far freed.
 */
import type { LoraAdapter } from '../lora/adapter';
import { allocating } from '../session/gpu-faults';
import { Gemma2Backward } from '../webgpu/gemma2/backward';
import type { Gemma2Engine } from '../webgpu/gemma2/forward';
import { GpuLoraAdapter } from './gpu-adapter';
import { LoraTrainer, type TrainerOptions } from './trainer';

export interface TrainingStackOptions extends Omit<
	TrainerOptions,
	'device' | 'backward' | 'adapter'
> {
	/** The longest example's length: sizes the adapter's and the backward's activations. */
	maxTokens: number;
}

export interface TrainingStack {
	lora: GpuLoraAdapter;
	backward: Gemma2Backward;
	trainer: LoraTrainer;
	destroy(): void;
}

/** `host` is the adapter to train from (a PEFT init, an imported adapter or a checkpoint's). */
export async function createTrainingStack(
	engine: Gemma2Engine,
	host: LoraAdapter,
	{ maxTokens, ...trainerOptions }: TrainingStackOptions
): Promise<TrainingStack> {
	const device = engine.device;
	const previousLora = engine.lora;
	let lora: GpuLoraAdapter | null = null;
	let backward: Gemma2Backward | null = null;
	let trainer: LoraTrainer | null = null;
	const destroy = () => {
		trainer?.destroy();
		backward?.destroy();
		lora?.destroy();
		engine.lora = previousLora;
		engine.restoreKvCache();
	};
	engine.releaseKvCache();
	return allocating(
		device,
		() => engine.memory.current,
		() => {
			lora = new GpuLoraAdapter(device, engine.memory, host, { trainable: true, maxTokens });
			engine.lora = lora;
			backward = new Gemma2Backward(engine, lora, { maxTokens });
			trainer = new LoraTrainer({ device, backward, adapter: lora, ...trainerOptions });
			return { lora, backward, trainer, destroy };
		},
		destroy
	);
}
