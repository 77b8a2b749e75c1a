/**
 * "Run this on a GPU server": a training run as a small self-contained Python project that re-runs
 * the same training with Hugging Face TRL (`SFTTrainer`) + PEFT (`LoraConfig`) + accelerate.
 * Pure: the files come from the run's examples (as the studio stores them: prompt variant applied,
 * split made), its arguments and the base model's Hugging Face id; nothing is tokenized here (the
 * project tokenizes in Python, piece by piece as lora/examples.ts does).
 *
 *   data/train.jsonl, data/eval.jsonl   {"messages": [{"role": "user"|"assistant", "content"}]}
 *   run_config.json                     model id + SFTConfig and LoraConfig values (train.py's defaults)
 *   train.py                            trl-train-script.ts
 *   requirements.txt, accelerate/*.yaml, slurm/train.sbatch, README.md   trl-project-docs.ts
 */
import { zipSync, strToU8 } from 'fflate';
import type { LoraConfig, TrainingArguments } from '../lora/config';
import { chatToExample, ExampleError, type ChatMessage } from '../lora/examples';
import { trainingPlan } from '../lora/schedule';
import {
	accelerateConfigs,
	projectReadme,
	REQUIREMENTS_TXT,
	slurmScript
} from './trl-project-docs';
import { TRAIN_PY } from './trl-train-script';

/** The Hugging Face original of the studio's default model (mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC). */
export const DEFAULT_HF_BASE_MODEL = 'google/gemma-2-2b-jpn-it';

export interface ChatExample {
	messages: ChatMessage[];
}

export interface TrlProjectInput {
	train: ChatExample[];
	eval: ChatExample[];
	training: TrainingArguments;
	lora: LoraConfig;
	/** Hugging Face model id (or a local folder path) train.py loads. */
	baseModel: string;
	/** The model the studio ran (hub repo, URL or folder), for the README. */
	studioModel?: string;
	runName?: string;
}

export { hfBaseModelFor } from './base-model';

/** A judge score (e.g. combined_score) does not exist in TRL: the best checkpoint is by eval_loss. */
function bestMetric(t: TrainingArguments): { metric: string | null; greater: boolean | null } {
	if (t.metric_for_best_model === null) return { metric: null, greater: t.greater_is_better };
	return { metric: 'eval_loss', greater: false };
}

/**
 * The run's TrainingArguments under transformers 5 / TRL 1 `SFTConfig` names. What moved:
 * `warmup_ratio` is gone (a float `warmup_steps` < 1 is the ratio); the studio's `shuffle: false`
 * is `train_sampling_strategy: "sequential"`; the optimizer is pinned to torch AdamW
 * (`adamw_torch`, what the studio implements, not the fused default); `max_length: null` (the studio
 * does not truncate); evaluation is off when there is no eval data.
 */
export function sftConfigFor(
	t: TrainingArguments,
	data: { numTrain: number; numEval: number }
): Record<string, unknown> {
	const plan = trainingPlan(t, data.numTrain);
	const warmup =
		t.warmup_steps > 0 ? t.warmup_steps : t.warmup_ratio >= 1 ? plan.warmupSteps : t.warmup_ratio;
	const evaluates = data.numEval > 0 && t.eval_strategy !== 'no';
	const best = bestMetric(t);
	return {
		output_dir: 'output',
		learning_rate: t.learning_rate,
		num_train_epochs: t.num_train_epochs,
		max_steps: t.max_steps,
		per_device_train_batch_size: t.per_device_train_batch_size,
		per_device_eval_batch_size: t.per_device_eval_batch_size,
		gradient_accumulation_steps: t.gradient_accumulation_steps,
		lr_scheduler_type: t.lr_scheduler_type,
		lr_scheduler_kwargs: { ...t.lr_scheduler_kwargs },
		warmup_steps: warmup,
		weight_decay: t.weight_decay,
		max_grad_norm: t.max_grad_norm,
		optim: 'adamw_torch',
		adam_beta1: t.adam_beta1,
		adam_beta2: t.adam_beta2,
		adam_epsilon: t.adam_epsilon,
		seed: t.seed,
		train_sampling_strategy: t.shuffle ? 'random' : 'sequential',
		logging_strategy: 'steps',
		logging_steps: t.logging_steps,
		eval_strategy: evaluates ? t.eval_strategy : 'no',
		eval_steps: t.eval_steps,
		save_strategy: !evaluates && t.save_strategy === 'best' ? 'no' : t.save_strategy,
		save_steps: t.save_steps,
		save_total_limit: t.save_total_limit,
		load_best_model_at_end: evaluates && t.load_best_model_at_end,
		metric_for_best_model: evaluates ? best.metric : null,
		greater_is_better: evaluates ? best.greater : null,
		max_length: null,
		report_to: 'none'
	};
}

/** PEFT LoraConfig values; target_modules always a list (one regex or "all-linear" = one entry). */
export function peftLoraConfigFor(l: LoraConfig): Record<string, unknown> {
	return {
		r: l.r,
		lora_alpha: l.lora_alpha,
		lora_dropout: l.lora_dropout,
		target_modules:
			l.target_modules === null
				? null
				: typeof l.target_modules === 'string'
					? [l.target_modules]
					: [...l.target_modules],
		use_rslora: l.use_rslora,
		layers_to_transform: l.layers_to_transform,
		rank_pattern: { ...l.rank_pattern },
		alpha_pattern: { ...l.alpha_pattern }
	};
}

/** Checks every example as the studio's trainer would (roles alternate, ends on a model turn…). */
function validate(examples: ChatExample[], file: string): void {
	const noTokens = { encode: () => [] };
	examples.forEach((e, i) => {
		try {
			chatToExample(e, noTokens, {}, i + 1);
		} catch (err) {
			if (err instanceof ExampleError) throw new Error(`${file} ${err.message}`);
			throw err;
		}
	});
}

/** One JSONL line in TRL's conversational format ("model" turns are "assistant"). */
function messagesLine(e: ChatExample): string {
	const messages = e.messages.map((m) => ({
		role: m.role === 'model' ? 'assistant' : m.role,
		content: m.content
	}));
	return JSON.stringify({ messages });
}

const jsonl = (examples: ChatExample[]) => examples.map((e) => messagesLine(e) + '\n').join('');

/** Every file of the project, by path. */
export function trlProjectFiles(input: TrlProjectInput): Record<string, string> {
	if (input.train.length === 0)
		throw new Error('data/train.jsonl: the run has no training examples');
	validate(input.train, 'data/train.jsonl');
	validate(input.eval, 'data/eval.jsonl');
	const sft = sftConfigFor(input.training, {
		numTrain: input.train.length,
		numEval: input.eval.length
	});
	const lora = peftLoraConfigFor(input.lora);
	const runConfig = { model_name_or_path: input.baseModel, sft, lora };
	const files: Record<string, string> = {
		'README.md': projectReadme({ ...input, sft, peftLora: lora }),
		'train.py': TRAIN_PY,
		'run_config.json': JSON.stringify(runConfig, null, 2) + '\n',
		'requirements.txt': REQUIREMENTS_TXT,
		'data/train.jsonl': jsonl(input.train),
		'data/eval.jsonl': jsonl(input.eval),
		'slurm/train.sbatch': slurmScript()
	};
	for (const [name, text] of Object.entries(accelerateConfigs()))
		files[`accelerate/${name}`] = text;
	return files;
}

/** The project as one zip, every file under `folder/`. */
export function trlProjectZip(files: Record<string, string>, folder: string): Uint8Array {
	const entries: Record<string, Uint8Array> = {};
	for (const [path, text] of Object.entries(files)) entries[`${folder}/${path}`] = strToU8(text);
	return zipSync(entries, { level: 6 });
}
