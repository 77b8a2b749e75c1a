/**
 * Training and LoRA settings under Hugging Face's own names and defaults, so a notebook's
 * `TrainingArguments(...)` / `LoraConfig(...)` can be pasted as JSON and mean the same thing.
 *
 * Defaults are those of transformers 4.46–4.57 `TrainingArguments` and PEFT 0.13–0.17
 * `LoraConfig`. Where the libraries moved (or where we are unsure) the field says so.
 */
import { PROJECTIONS, type ProjectionName } from '../model/weights';
import { checkModulePattern } from './module-regex';

export type SchedulerKind =
	'linear' | 'cosine' | 'cosine_with_restarts' | 'polynomial' | 'constant' | 'constant_with_warmup';

export const SCHEDULER_KINDS: readonly SchedulerKind[] = [
	'linear',
	'cosine',
	'cosine_with_restarts',
	'polynomial',
	'constant',
	'constant_with_warmup'
];

/** The subset of transformers' `TrainingArguments` the studio honours. */
export interface TrainingArguments {
	learning_rate: number;
	num_train_epochs: number;
	/** > 0 overrides num_train_epochs (total optimizer steps). */
	max_steps: number;
	per_device_train_batch_size: number;
	per_device_eval_batch_size: number;
	gradient_accumulation_steps: number;
	/** Used only when warmup_steps is 0: ceil(warmup_ratio × total steps). */
	warmup_ratio: number;
	/** > 0 wins over warmup_ratio. A float in (0, 1) is a ratio (transformers v5 semantics). */
	warmup_steps: number;
	lr_scheduler_type: SchedulerKind;
	/** e.g. { num_cycles: 2 } for cosine_with_restarts, { lr_end, power } for polynomial. */
	lr_scheduler_kwargs: Record<string, number>;
	weight_decay: number;
	/** ≤ 0 disables clipping (the Trainer clips only when max_grad_norm > 0). */
	max_grad_norm: number;
	adam_beta1: number;
	adam_beta2: number;
	adam_epsilon: number;
	seed: number;
	eval_strategy: 'no' | 'steps' | 'epoch';
	/** null = logging_steps (as the Trainer does). A value < 1 is a ratio of total steps. */
	eval_steps: number | null;
	save_strategy: 'no' | 'steps' | 'epoch' | 'best';
	save_steps: number;
	logging_steps: number;
	/** null = keep every checkpoint. */
	save_total_limit: number | null;
	load_best_model_at_end: boolean;
	metric_for_best_model: string | null;
	greater_is_better: boolean | null;
	/** Ours (the Trainer always shuffles with a RandomSampler seeded from `seed`). */
	shuffle: boolean;
}

export const TRAINING_DEFAULTS: TrainingArguments = {
	learning_rate: 5e-5,
	num_train_epochs: 3,
	max_steps: -1,
	per_device_train_batch_size: 8,
	per_device_eval_batch_size: 8,
	gradient_accumulation_steps: 1,
	warmup_ratio: 0,
	warmup_steps: 0,
	lr_scheduler_type: 'linear',
	lr_scheduler_kwargs: {},
	weight_decay: 0,
	max_grad_norm: 1,
	adam_beta1: 0.9,
	adam_beta2: 0.999,
	adam_epsilon: 1e-8,
	seed: 42,
	eval_strategy: 'no',
	eval_steps: null,
	save_strategy: 'steps',
	save_steps: 500,
	logging_steps: 500,
	save_total_limit: null,
	load_best_model_at_end: false,
	metric_for_best_model: null,
	greater_is_better: null,
	shuffle: true
};

/** The subset of PEFT's `LoraConfig` the studio can apply (see peft.ts for what it refuses). */
export interface LoraConfig {
	r: number;
	lora_alpha: number;
	/** Only 0 is reproduced by the reference; the GPU trainer may apply it (PEFT: nn.Dropout on x). */
	lora_dropout: number;
	/** List (exact name or suffix ".entry"), a regex string (full match), or null = PEFT's default for
	 * gemma2 (q_proj, v_proj). "all-linear" = the seven projections (the LM head excluded). */
	target_modules: string[] | string | null;
	use_rslora: boolean;
	/** null = all layers. */
	layers_to_transform: number[] | null;
	/** module-name pattern → rank / alpha; matched like PEFT: `(.*\.)?(pattern)$`. */
	rank_pattern: Record<string, number>;
	alpha_pattern: Record<string, number>;
}

export const LORA_DEFAULTS: LoraConfig = {
	r: 8,
	lora_alpha: 8,
	lora_dropout: 0,
	target_modules: null,
	use_rslora: false,
	layers_to_transform: null,
	rank_pattern: {},
	alpha_pattern: {}
};

/** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING["gemma2"]. */
export const PEFT_DEFAULT_GEMMA2_TARGETS: ProjectionName[] = ['q_proj', 'v_proj'];

/** Every projection LoRA can target, in the model's order (the same list as the weights'). */
export const ALL_PROJECTIONS: ProjectionName[] = [...PROJECTIONS];

/**
 * What a value broke, for the UI to word in its language (the English message stays for the CLI).
 * `params` fill the message: { min, max } bounds, { allowed } choices.
 */
export type ConfigRule =
	| 'object'
	| 'positive'
	| 'positiveInteger'
	| 'nonNegative'
	| 'nonNegativeInteger'
	| 'maxSteps'
	| 'warmupSteps'
	| 'interval'
	| 'range'
	| 'oneOf'
	| 'number'
	| 'boolean'
	| 'nullableBoolean'
	| 'nullableString'
	| 'unsupported'
	| 'regex'
	| 'modules'
	| 'layers'
	/** metric_for_best_model names a metric no configured evaluation produces (best-metric.ts). */
	| 'bestMetric'
	/** load_best_model_at_end with checkpoints that miss evaluations (the Trainer refuses it too). */
	| 'loadBest';

/** A configuration error that names the field and the value. */
export class TrainingConfigError extends Error {
	constructor(
		readonly field: string,
		readonly value: unknown,
		message: string,
		readonly rule: ConfigRule = 'unsupported',
		readonly params: Record<string, string | number> = {}
	) {
		super(`${field} = ${JSON.stringify(value)}: ${message}`);
		this.name = 'TrainingConfigError';
	}
}

/**
 * Keys of TrainingArguments / LoraConfig that the studio accepts and ignores with a warning (they
 * concern hardware, logging backends or file paths, not the maths). Anything else unknown also
 * gets a warning: HF adds keys every release, so unknown is not an error.
 */
const KNOWN_IGNORED = new Set([
	'output_dir',
	'logging_dir',
	'overwrite_output_dir',
	'report_to',
	'run_name',
	'disable_tqdm',
	'no_cuda',
	'use_cpu',
	'fp16',
	'bf16',
	'tf32',
	'gradient_checkpointing',
	'gradient_checkpointing_kwargs',
	'dataloader_num_workers',
	'dataloader_pin_memory',
	'eval_accumulation_steps',
	'logging_strategy',
	'logging_first_step',
	'push_to_hub',
	'hub_model_id',
	'remove_unused_columns',
	'group_by_length',
	'bias',
	'task_type'
]);

const TRAINING_KEYS = new Set(Object.keys(TRAINING_DEFAULTS));
const LORA_KEYS = new Set(Object.keys(LORA_DEFAULTS));

export interface ParsedTrainingConfig {
	training: TrainingArguments;
	lora: LoraConfig;
	warnings: string[];
}

type Json = Record<string, unknown>;

function isNum(v: unknown): v is number {
	return typeof v === 'number' && Number.isFinite(v);
}

/** The ranges a LoRA value must lie in, for a training config and an imported adapter alike. */
export const LORA_LIMITS = { maxRank: 4096, maxAlpha: 1e6 } as const;

/**
 * Why a LoRA value is unusable (null when it is fine): `r` (also a rank_pattern value) an integer
 * in [1, 4096]; `lora_alpha` (also an alpha_pattern value) in (0, 1e6]; `lora_dropout` in [0, 1).
 */
export function loraValueProblem(
	field: 'r' | 'lora_alpha' | 'lora_dropout',
	v: unknown
): string | null {
	if (field === 'r')
		return isNum(v) && Number.isInteger(v) && v >= 1 && v <= LORA_LIMITS.maxRank
			? null
			: `must be an integer from 1 to ${LORA_LIMITS.maxRank}`;
	if (field === 'lora_alpha')
		return isNum(v) && v > 0 && v <= LORA_LIMITS.maxAlpha
			? null
			: `must be a number > 0 and ≤ ${LORA_LIMITS.maxAlpha}`;
	return isNum(v) && v >= 0 && v < 1 ? null : 'must be in [0, 1)';
}

function checkLoraValue(
	field: string,
	kind: 'r' | 'lora_alpha' | 'lora_dropout',
	v: unknown
): number {
	const problem = loraValueProblem(kind, v);
	if (!problem) return v as number;
	// the rule and its bounds let the UI word the error in the user's language
	if (kind === 'r')
		throw isNum(v) && Number.isInteger(v) && v > LORA_LIMITS.maxRank
			? new TrainingConfigError(field, v, problem, 'range', { min: 1, max: LORA_LIMITS.maxRank })
			: new TrainingConfigError(field, v, problem, 'positiveInteger');
	if (kind === 'lora_alpha')
		throw isNum(v) && v > LORA_LIMITS.maxAlpha
			? new TrainingConfigError(field, v, problem, 'range', { min: 0, max: LORA_LIMITS.maxAlpha })
			: new TrainingConfigError(field, v, problem, 'positive');
	throw new TrainingConfigError(field, v, problem, 'range', { min: 0, max: 1 });
}

/**
 * Parse a JSON object of training settings: either flat (TrainingArguments and LoraConfig keys
 * mixed, as people paste them) or `{ "training": {…}, "lora": {…} }`. Known keys are validated
 * (TrainingConfigError names the field and value); unknown keys are kept out and listed in
 * `warnings`. Aliases: `evaluation_strategy` (the pre-4.41 name of eval_strategy).
 */
export function parseTrainingConfig(json: unknown): ParsedTrainingConfig {
	if (json === null || typeof json !== 'object' || Array.isArray(json))
		throw new TrainingConfigError('(root)', json, 'expected a JSON object', 'object');
	const root = json as Json;
	const warnings: string[] = [];
	let entries: [string, unknown][];
	if ('training' in root || 'lora' in root) {
		entries = [];
		for (const [k, v] of Object.entries(root)) {
			if ((k === 'training' || k === 'lora') && v && typeof v === 'object' && !Array.isArray(v))
				entries.push(...Object.entries(v as Json));
			else warnings.push(`unknown key "${k}" ignored`);
		}
	} else entries = Object.entries(root);

	const training: TrainingArguments = { ...TRAINING_DEFAULTS, lr_scheduler_kwargs: {} };
	const lora: LoraConfig = { ...LORA_DEFAULTS, rank_pattern: {}, alpha_pattern: {} };
	for (let [key, value] of entries) {
		if (key === 'evaluation_strategy') key = 'eval_strategy';
		if (key === 'optim') {
			if (typeof value !== 'string' || !/^adamw_torch(_fused)?$|^adamw_hf$/.test(value))
				warnings.push(
					`optim ${JSON.stringify(value)} is not available; torch AdamW (adamw_torch) is used`
				);
			continue;
		}
		if (key === 'bias' && value !== 'none')
			throw new TrainingConfigError(
				key,
				value,
				'only "none" is supported (LoRA A/B are the only trained weights)'
			);
		if (key === 'use_dora' && value !== false)
			throw new TrainingConfigError(key, value, 'DoRA is not supported');
		if (key === 'use_dora') continue;
		if (TRAINING_KEYS.has(key)) setTraining(training, key as keyof TrainingArguments, value);
		else if (LORA_KEYS.has(key)) setLora(lora, key as keyof LoraConfig, value);
		else if (KNOWN_IGNORED.has(key)) warnings.push(`${key} has no effect in the studio; ignored`);
		else warnings.push(`unknown key "${key}" ignored`);
	}
	return { training, lora, warnings };
}

function positiveInt(field: string, v: unknown): number {
	if (!isNum(v) || !Number.isInteger(v) || v <= 0)
		throw new TrainingConfigError(field, v, 'must be a positive integer', 'positiveInteger');
	return v;
}
function nonNegative(field: string, v: unknown): number {
	if (!isNum(v) || v < 0)
		throw new TrainingConfigError(field, v, 'must be a number ≥ 0', 'nonNegative');
	return v;
}
/** Logging/eval/save intervals: a positive integer, or a ratio in (0, 1) of the total steps. */
function interval(field: string, v: unknown): number {
	if (!isNum(v) || v <= 0 || (v > 1 && !Number.isInteger(v)))
		throw new TrainingConfigError(
			field,
			v,
			'must be a positive integer, or a ratio in (0, 1]',
			'interval'
		);
	return v;
}
function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
	if (typeof v !== 'string' || !allowed.includes(v as T))
		throw new TrainingConfigError(field, v, `must be one of ${allowed.join(', ')}`, 'oneOf', {
			allowed: allowed.join(', ')
		});
	return v as T;
}

function setTraining(t: TrainingArguments, key: keyof TrainingArguments, v: unknown): void {
	switch (key) {
		case 'learning_rate':
			if (!isNum(v) || v <= 0)
				throw new TrainingConfigError(key, v, 'must be a number > 0', 'positive');
			t.learning_rate = v;
			return;
		case 'num_train_epochs':
			if (!isNum(v) || v <= 0)
				throw new TrainingConfigError(key, v, 'must be a number > 0', 'positive');
			t.num_train_epochs = v;
			return;
		case 'max_steps':
			if (!isNum(v) || !Number.isInteger(v) || (v <= 0 && v !== -1))
				throw new TrainingConfigError(
					key,
					v,
					'must be a positive integer or -1 (use epochs)',
					'maxSteps'
				);
			t.max_steps = v;
			return;
		case 'per_device_train_batch_size':
		case 'per_device_eval_batch_size':
		case 'gradient_accumulation_steps':
		case 'seed':
			if (key === 'seed') {
				if (!isNum(v) || !Number.isInteger(v) || v < 0)
					throw new TrainingConfigError(key, v, 'must be an integer ≥ 0', 'nonNegativeInteger');
				t.seed = v;
			} else t[key] = positiveInt(key, v);
			return;
		case 'warmup_ratio':
			if (!isNum(v) || v < 0 || v > 1)
				throw new TrainingConfigError(key, v, 'must be in [0, 1]', 'range', { min: 0, max: 1 });
			t.warmup_ratio = v;
			return;
		case 'warmup_steps':
			if (!isNum(v) || v < 0 || (v >= 1 && !Number.isInteger(v)))
				throw new TrainingConfigError(
					key,
					v,
					'must be an integer ≥ 0, or a ratio in (0, 1)',
					'warmupSteps'
				);
			t.warmup_steps = v;
			return;
		case 'lr_scheduler_type':
			t.lr_scheduler_type = oneOf(key, v, SCHEDULER_KINDS);
			return;
		case 'lr_scheduler_kwargs': {
			if (!v || typeof v !== 'object' || Array.isArray(v))
				throw new TrainingConfigError(key, v, 'must be an object', 'object');
			const out: Record<string, number> = {};
			for (const [k, x] of Object.entries(v as Json)) {
				if (!['num_cycles', 'lr_end', 'power'].includes(k))
					throw new TrainingConfigError(
						`${key}.${k}`,
						x,
						'unknown scheduler argument (num_cycles, lr_end, power)'
					);
				if (!isNum(x) || x < 0)
					throw new TrainingConfigError(`${key}.${k}`, x, 'must be a number ≥ 0', 'nonNegative');
				out[k] = x;
			}
			t.lr_scheduler_kwargs = out;
			return;
		}
		case 'weight_decay':
			t.weight_decay = nonNegative(key, v);
			return;
		case 'max_grad_norm':
			if (!isNum(v))
				throw new TrainingConfigError(key, v, 'must be a number (≤ 0 disables clipping)', 'number');
			t.max_grad_norm = v;
			return;
		case 'adam_beta1':
		case 'adam_beta2':
			if (!isNum(v) || v < 0 || v >= 1)
				throw new TrainingConfigError(key, v, 'must be in [0, 1)', 'range', { min: 0, max: 1 });
			t[key] = v;
			return;
		case 'adam_epsilon':
			t.adam_epsilon = nonNegative(key, v);
			return;
		case 'eval_strategy':
			t.eval_strategy = oneOf(key, v, ['no', 'steps', 'epoch'] as const);
			return;
		case 'save_strategy':
			t.save_strategy = oneOf(key, v, ['no', 'steps', 'epoch', 'best'] as const);
			return;
		case 'eval_steps':
			t.eval_steps = v === null ? null : interval(key, v);
			return;
		case 'save_steps':
		case 'logging_steps':
			t[key] = interval(key, v);
			return;
		case 'save_total_limit':
			t.save_total_limit = v === null ? null : positiveInt(key, v);
			return;
		case 'load_best_model_at_end':
		case 'shuffle':
			if (typeof v !== 'boolean')
				throw new TrainingConfigError(key, v, 'must be true or false', 'boolean');
			t[key] = v;
			return;
		case 'greater_is_better':
			if (v !== null && typeof v !== 'boolean')
				throw new TrainingConfigError(key, v, 'must be true, false or null', 'nullableBoolean');
			t.greater_is_better = v;
			return;
		case 'metric_for_best_model':
			if (v !== null && typeof v !== 'string')
				throw new TrainingConfigError(key, v, 'must be a string or null', 'nullableString');
			t.metric_for_best_model = v;
			return;
	}
}

function setLora(l: LoraConfig, key: keyof LoraConfig, v: unknown): void {
	switch (key) {
		case 'r':
		case 'lora_alpha':
		case 'lora_dropout':
			l[key] = checkLoraValue(key, key, v);
			return;
		case 'target_modules':
			if (v === null) l.target_modules = null;
			else if (typeof v === 'string') {
				try {
					checkModulePattern(v);
				} catch (e) {
					throw new TrainingConfigError(
						key,
						v,
						`is not a usable regular expression: ${(e as Error).message}`,
						'regex'
					);
				}
				l.target_modules = v;
			} else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'))
				l.target_modules = [...v];
			else
				throw new TrainingConfigError(
					key,
					v,
					'must be a non-empty list of module names or a regex string',
					'modules'
				);
			return;
		case 'use_rslora':
			if (typeof v !== 'boolean')
				throw new TrainingConfigError(key, v, 'must be true or false', 'boolean');
			l.use_rslora = v;
			return;
		case 'layers_to_transform':
			if (v === null) l.layers_to_transform = null;
			else if (isNum(v) && Number.isInteger(v) && v >= 0) l.layers_to_transform = [v];
			else if (Array.isArray(v) && v.every((x) => isNum(x) && Number.isInteger(x) && x >= 0))
				l.layers_to_transform = [...(v as number[])];
			else
				throw new TrainingConfigError(
					key,
					v,
					'must be a layer index, a list of them, or null',
					'layers'
				);
			return;
		case 'rank_pattern':
		case 'alpha_pattern': {
			if (!v || typeof v !== 'object' || Array.isArray(v))
				throw new TrainingConfigError(key, v, 'must be an object of pattern → number', 'object');
			const out: Record<string, number> = {};
			for (const [k, x] of Object.entries(v as Json)) {
				out[k] = checkLoraValue(`${key}.${k}`, key === 'rank_pattern' ? 'r' : 'lora_alpha', x);
			}
			l[key] = out;
			return;
		}
	}
}

/** The seeds' QLoRA run (docs/specs/workflow.md §5), LoRA on all seven projections. */
export const SEED_PRESET: { training: TrainingArguments; lora: LoraConfig } = {
	training: {
		...TRAINING_DEFAULTS,
		lr_scheduler_kwargs: {},
		learning_rate: 8e-5,
		num_train_epochs: 30,
		lr_scheduler_type: 'cosine_with_restarts',
		warmup_ratio: 0.25,
		weight_decay: 0.06,
		per_device_train_batch_size: 2,
		per_device_eval_batch_size: 1,
		gradient_accumulation_steps: 8,
		max_grad_norm: 0.5,
		eval_strategy: 'steps',
		eval_steps: 20,
		save_strategy: 'steps',
		save_steps: 20,
		logging_steps: 50,
		save_total_limit: 2,
		load_best_model_at_end: true,
		metric_for_best_model: 'combined_score'
	},
	lora: {
		...LORA_DEFAULTS,
		r: 8,
		lora_alpha: 16,
		target_modules: [...ALL_PROJECTIONS],
		rank_pattern: {},
		alpha_pattern: {}
	}
};

/** A short run for a classroom: a few minutes on a laptop GPU, visible progress, one epoch-ish. */
export const QUICK_CLASSROOM_PRESET: { training: TrainingArguments; lora: LoraConfig } = {
	training: {
		...TRAINING_DEFAULTS,
		lr_scheduler_kwargs: {},
		learning_rate: 2e-4,
		num_train_epochs: 2,
		lr_scheduler_type: 'linear',
		warmup_ratio: 0.1,
		weight_decay: 0,
		per_device_train_batch_size: 1,
		per_device_eval_batch_size: 1,
		gradient_accumulation_steps: 4,
		max_grad_norm: 1,
		eval_strategy: 'steps',
		eval_steps: 10,
		save_strategy: 'steps',
		save_steps: 10,
		logging_steps: 5,
		save_total_limit: 1
	},
	lora: {
		...LORA_DEFAULTS,
		r: 4,
		lora_alpha: 8,
		target_modules: [...ALL_PROJECTIONS],
		rank_pattern: {},
		alpha_pattern: {}
	}
};
