import { describe, expect, it } from 'vitest';
import {
	LORA_DEFAULTS,
	parseTrainingConfig,
	QUICK_CLASSROOM_PRESET,
	SEED_PRESET,
	TRAINING_DEFAULTS,
	TrainingConfigError
} from '../../src/lib/lora/config';
import {
	learningRateAt,
	lrFactor,
	resolveInterval,
	trainingPlan,
	warmupStepsFor
} from '../../src/lib/lora/schedule';

describe('learning-rate factors as transformers get_scheduler', () => {
	it('linear: warmup from 0, then down to 0 at the last step', () => {
		const p = { warmupSteps: 2, totalSteps: 10 };
		expect([0, 1, 2, 6, 10, 12].map((s) => lrFactor('linear', s, p))).toEqual([
			0, 0.5, 1, 0.5, 0, 0
		]);
	});
	it('cosine: half a cosine by default (num_cycles 0.5)', () => {
		const p = { warmupSteps: 0, totalSteps: 10 };
		expect(lrFactor('cosine', 0, p)).toBe(1);
		expect(lrFactor('cosine', 5, p)).toBeCloseTo(0.5, 15);
		expect(lrFactor('cosine', 10, p)).toBeCloseTo(0, 15);
	});
	it('cosine_with_restarts: restarts at each cycle, 0 from the end on', () => {
		const p = { warmupSteps: 2, totalSteps: 10, numCycles: 2 };
		expect(lrFactor('cosine_with_restarts', 1, p)).toBe(0.5); // warmup 1/2
		expect(lrFactor('cosine_with_restarts', 2, p)).toBe(1); // progress 0
		expect(lrFactor('cosine_with_restarts', 4, p)).toBeCloseTo(0.5, 15); // (2·0.25) % 1 = 0.5
		expect(lrFactor('cosine_with_restarts', 6, p)).toBe(1); // restart: (2·0.5) % 1 = 0
		expect(lrFactor('cosine_with_restarts', 9, p)).toBeCloseTo(0.14644660940672627, 15); // 0.75
		expect(lrFactor('cosine_with_restarts', 10, p)).toBe(0);
		// default num_cycles 1 is a plain cosine to 0
		expect(lrFactor('cosine_with_restarts', 6, { warmupSteps: 2, totalSteps: 10 })).toBeCloseTo(
			0.5,
			15
		);
	});
	it('constant and constant_with_warmup', () => {
		expect(lrFactor('constant', 0, { warmupSteps: 5, totalSteps: 10 })).toBe(1);
		expect(lrFactor('constant_with_warmup', 1, { warmupSteps: 4, totalSteps: 10 })).toBe(0.25);
		expect(lrFactor('constant_with_warmup', 4, { warmupSteps: 4, totalSteps: 10 })).toBe(1);
	});
	it('polynomial: (lr_init − lr_end)·remaining^power + lr_end, lr_end after the end', () => {
		const p = { warmupSteps: 0, totalSteps: 10, lrInit: 1e-3, lrEnd: 1e-7, power: 2 };
		expect(lrFactor('polynomial', 5, p)).toBeCloseTo(0.250075, 15);
		expect(lrFactor('polynomial', 11, p)).toBeCloseTo(1e-4, 15);
	});
});

describe('steps and warmup as the Trainer counts them', () => {
	it('the seeds’ run: 194 examples, batch 2 × accumulation 8, 30 epochs', () => {
		// 97 micro-batches per epoch → 12 full accumulations + 1 partial = 13 optimizer steps
		const plan = trainingPlan(SEED_PRESET.training, 194);
		expect(plan).toMatchObject({
			batchesPerEpoch: 97,
			updatesPerEpoch: 13,
			totalSteps: 390,
			warmupSteps: 98,
			epochs: 30
		});
		expect(learningRateAt(SEED_PRESET.training, 0, 390)).toBe(0); // first step: factor 0
		expect(learningRateAt(SEED_PRESET.training, 97, 390)).toBeCloseTo((8e-5 * 97) / 98, 18);
		expect(learningRateAt(SEED_PRESET.training, 98, 390)).toBe(8e-5);
	});
	it('max_steps wins over epochs; fewer batches than accumulation still make one step', () => {
		expect(trainingPlan({ ...TRAINING_DEFAULTS, max_steps: 100 }, 1000).totalSteps).toBe(100);
		expect(
			trainingPlan({ ...TRAINING_DEFAULTS, gradient_accumulation_steps: 16 }, 8).updatesPerEpoch
		).toBe(1);
		expect(trainingPlan({ ...TRAINING_DEFAULTS, num_train_epochs: 2.5 }, 80).totalSteps).toBe(25);
	});
	it('warmup_steps > 0 overrides warmup_ratio; ratio rounds up', () => {
		expect(warmupStepsFor({ warmup_steps: 5, warmup_ratio: 0.5 }, 100)).toBe(5);
		expect(warmupStepsFor({ warmup_steps: 0, warmup_ratio: 0.25 }, 390)).toBe(98);
		expect(warmupStepsFor({ warmup_steps: 0.1, warmup_ratio: 0 }, 95)).toBe(10); // v5: float < 1 is a ratio
		expect(resolveInterval(0.1, 95)).toBe(10);
		expect(resolveInterval(20, 95)).toBe(20);
	});
});

describe('training configuration', () => {
	it('has transformers’ and PEFT’s defaults', () => {
		expect(TRAINING_DEFAULTS).toMatchObject({
			learning_rate: 5e-5,
			num_train_epochs: 3,
			max_steps: -1,
			per_device_train_batch_size: 8,
			gradient_accumulation_steps: 1,
			warmup_ratio: 0,
			warmup_steps: 0,
			lr_scheduler_type: 'linear',
			weight_decay: 0,
			max_grad_norm: 1,
			adam_beta1: 0.9,
			adam_beta2: 0.999,
			adam_epsilon: 1e-8,
			seed: 42,
			eval_steps: null,
			save_steps: 500,
			logging_steps: 500,
			save_total_limit: null,
			shuffle: true
		});
		expect(LORA_DEFAULTS).toMatchObject({
			r: 8,
			lora_alpha: 8,
			lora_dropout: 0,
			use_rslora: false,
			target_modules: null
		});
		expect(QUICK_CLASSROOM_PRESET.training.learning_rate).toBeGreaterThan(0);
	});
	it('reads the seeds’ TrainingArguments as pasted, with warnings (not errors) for keys it does not use', () => {
		const { training, warnings } = parseTrainingConfig({
			output_dir: '/kaggle/working',
			num_train_epochs: 30,
			learning_rate: 8e-5,
			weight_decay: 0.06,
			warmup_ratio: 0.25,
			lr_scheduler_type: 'cosine_with_restarts',
			evaluation_strategy: 'steps',
			eval_steps: 20,
			save_strategy: 'steps',
			save_steps: 20,
			gradient_accumulation_steps: 8,
			max_steps: -1,
			per_device_train_batch_size: 2,
			max_grad_norm: 0.5,
			save_total_limit: 2,
			fp16: true,
			optim: 'adamw_torch_fused',
			some_future_key: 1,
			r: 16,
			lora_alpha: 32
		});
		expect(training).toMatchObject({
			...SEED_PRESET.training,
			lr_scheduler_type: 'cosine_with_restarts',
			eval_strategy: 'steps',
			logging_steps: 500,
			load_best_model_at_end: false,
			metric_for_best_model: null,
			per_device_eval_batch_size: 8
		});
		expect(warnings.some((w) => w.includes('output_dir'))).toBe(true);
		expect(warnings.some((w) => w.includes('some_future_key'))).toBe(true);
		expect(warnings.some((w) => w.includes('optim'))).toBe(false); // adamw_torch_fused is torch AdamW
	});
	it('accepts {training, lora} and validates with errors naming the field and value', () => {
		const { lora } = parseTrainingConfig({
			training: { seed: 1 },
			lora: { r: 4, target_modules: 'model\\.layers\\.\\d+\\.mlp\\..*' }
		});
		expect(lora.r).toBe(4);
		const bad: [object, string][] = [
			[{ learning_rate: -1 }, 'learning_rate = -1'],
			[{ lr_scheduler_type: 'cosine_restarts' }, 'lr_scheduler_type = "cosine_restarts"'],
			[{ per_device_train_batch_size: 1.5 }, 'per_device_train_batch_size = 1.5'],
			[{ r: 0 }, 'r = 0'],
			[{ target_modules: [] }, 'target_modules = []'],
			[{ bias: 'all' }, 'bias = "all"'],
			[{ rank_pattern: { q_proj: -2 } }, 'rank_pattern.q_proj = -2']
		];
		for (const [json, msg] of bad) {
			expect(() => parseTrainingConfig(json)).toThrow(TrainingConfigError);
			expect(() => parseTrainingConfig(json)).toThrow(msg);
		}
	});
});
