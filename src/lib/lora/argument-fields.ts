/**
 * The Train page's argument form, described as data: every field it shows (under its Hugging Face
 * name), the seeds' value, a safe range, and a check of a typed value as the CLI would parse it
 * (parseTrainingConfig is the one validator; its TrainingConfigError carries a rule the UI words).
 * The one-line explanations live in i18n under `trainArg.<name>`.
 */
import {
	parseTrainingConfig,
	SCHEDULER_KINDS,
	SEED_PRESET,
	TrainingConfigError,
	type ConfigRule,
	type LoraConfig,
	type TrainingArguments
} from './config';

export type ArgumentGroup = 'training' | 'lora';

export interface ArgumentField {
	group: ArgumentGroup;
	name: keyof TrainingArguments | keyof LoraConfig;
	kind: 'number' | 'integer' | 'choice' | 'boolean';
	/** A number field left empty means null (e.g. eval_steps = logging_steps). */
	nullable?: boolean;
	choices?: readonly string[];
	/** Where people who know the field usually keep it (advice, not a limit). */
	safe?: { min: number; max: number };
}

/** The rank the LoRA kernels take (webgpu/kernels/lora.ts LORA_MAX_RANK; a unit test ties them). */
export const MAX_LORA_RANK = 1024;

export const TRAINING_FIELDS: readonly ArgumentField[] = [
	{ group: 'training', name: 'learning_rate', kind: 'number', safe: { min: 1e-5, max: 5e-4 } },
	{ group: 'training', name: 'num_train_epochs', kind: 'number', safe: { min: 1, max: 30 } },
	{ group: 'training', name: 'max_steps', kind: 'integer' },
	{
		group: 'training',
		name: 'per_device_train_batch_size',
		kind: 'integer',
		safe: { min: 1, max: 4 }
	},
	{
		group: 'training',
		name: 'gradient_accumulation_steps',
		kind: 'integer',
		safe: { min: 1, max: 16 }
	},
	{ group: 'training', name: 'lr_scheduler_type', kind: 'choice', choices: SCHEDULER_KINDS },
	{ group: 'training', name: 'warmup_ratio', kind: 'number', safe: { min: 0, max: 0.3 } },
	{ group: 'training', name: 'weight_decay', kind: 'number', safe: { min: 0, max: 0.1 } },
	{ group: 'training', name: 'max_grad_norm', kind: 'number', safe: { min: 0.3, max: 1 } },
	{
		group: 'training',
		name: 'eval_steps',
		kind: 'number',
		nullable: true,
		safe: { min: 5, max: 100 }
	},
	{ group: 'training', name: 'save_steps', kind: 'number', safe: { min: 5, max: 100 } },
	{
		group: 'training',
		name: 'save_total_limit',
		kind: 'integer',
		nullable: true,
		safe: { min: 1, max: 5 }
	},
	{ group: 'training', name: 'seed', kind: 'integer' }
];

export const LORA_FIELDS: readonly ArgumentField[] = [
	{ group: 'lora', name: 'r', kind: 'integer', safe: { min: 4, max: 64 } },
	{ group: 'lora', name: 'lora_alpha', kind: 'number', safe: { min: 4, max: 128 } },
	{ group: 'lora', name: 'lora_dropout', kind: 'number', safe: { min: 0, max: 0.1 } },
	{ group: 'lora', name: 'use_rslora', kind: 'boolean' },
	{ group: 'lora', name: 'target_modules', kind: 'choice' }
];

/** The seeds' value of a field (docs/specs/workflow.md, item 5, via SEED_PRESET), for the hint. */
export function seedsValue(field: ArgumentField): unknown {
	const preset = field.group === 'training' ? SEED_PRESET.training : SEED_PRESET.lora;
	return (preset as unknown as Record<string, unknown>)[field.name];
}

/** What is wrong with a value: a rule the UI words in its language, with its parameters. */
export interface ArgumentProblem {
	rule: ConfigRule | 'maxRank';
	params: Record<string, string | number>;
}

/** Checks one field's value exactly as the run will parse it; null when it is valid. */
export function checkArgument(name: string, value: unknown): ArgumentProblem | null {
	try {
		parseTrainingConfig({ [name]: value });
	} catch (e) {
		if (e instanceof TrainingConfigError) return { rule: e.rule, params: e.params };
		throw e;
	}
	if (name === 'r' && typeof value === 'number' && value > MAX_LORA_RANK)
		return { rule: 'maxRank', params: { max: MAX_LORA_RANK } };
	return null;
}

/** Every problem of the form, by field name (empty: the run may start). */
export function checkArguments(
	training: TrainingArguments,
	lora: LoraConfig
): Record<string, ArgumentProblem> {
	const problems: Record<string, ArgumentProblem> = {};
	for (const f of [...TRAINING_FIELDS, ...LORA_FIELDS]) {
		const value = (f.group === 'training' ? training : lora) as unknown as Record<string, unknown>;
		const problem = checkArgument(f.name, value[f.name]);
		if (problem) problems[f.name] = problem;
	}
	return problems;
}

/** Is a valid value outside the field's usual range (worth a gentle note, never a refusal)? */
export function outsideSafeRange(field: ArgumentField, value: unknown): boolean {
	if (!field.safe || typeof value !== 'number') return false;
	return value < field.safe.min || value > field.safe.max;
}
