/**
 * Learning-rate schedules exactly as transformers' `get_scheduler` builds them: a LambdaLR whose
 * factor multiplies the initial learning rate. The Trainer calls `optimizer.step()` then
 * `lr_scheduler.step()`, so optimizer step n (counted from 0) uses factor(n): with warmup, the
 * very first update has learning rate 0.
 *
 * Also how many optimizer steps a run has, as `Trainer.set_initial_training_values` computes it
 * (current transformers; see `trainingPlan`).
 */
import type { SchedulerKind, TrainingArguments } from './config';

export interface ScheduleParams {
	warmupSteps: number;
	totalSteps: number;
	/** cosine: default 0.5 (half a cosine, to 0); cosine_with_restarts: default 1. */
	numCycles?: number;
	/** polynomial only: lr_end (default 1e-7), power (default 1), and the initial lr it divides by. */
	lrEnd?: number;
	power?: number;
	lrInit?: number;
}

/** Linear warmup used by every schedule that has one: step / max(1, warmup). */
function warmup(step: number, warmupSteps: number): number {
	return step / Math.max(1, warmupSteps);
}

/** The LambdaLR factor of optimizer step `step` (0-based). */
export function lrFactor(kind: SchedulerKind, step: number, p: ScheduleParams): number {
	const { warmupSteps: W, totalSteps: N } = p;
	switch (kind) {
		case 'constant':
			return 1;
		case 'constant_with_warmup':
			return step < W ? warmup(step, W) : 1;
		case 'linear':
			// max(0, (N − step) / max(1, N − W))
			if (step < W) return warmup(step, W);
			return Math.max(0, (N - step) / Math.max(1, N - W));
		case 'cosine': {
			if (step < W) return warmup(step, W);
			const cycles = p.numCycles ?? 0.5;
			const progress = (step - W) / Math.max(1, N - W);
			return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
		}
		case 'cosine_with_restarts': {
			if (step < W) return warmup(step, W);
			const cycles = p.numCycles ?? 1;
			const progress = (step - W) / Math.max(1, N - W);
			if (progress >= 1) return 0;
			// Python's % on non-negative floats is JS's %
			return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((cycles * progress) % 1))));
		}
		case 'polynomial': {
			const lrEnd = p.lrEnd ?? 1e-7;
			const power = p.power ?? 1;
			const lrInit = p.lrInit;
			if (lrInit === undefined) throw new Error('polynomial schedule needs lrInit');
			if (!(lrInit > lrEnd))
				throw new Error(`lr_end (${lrEnd}) must be smaller than initial lr (${lrInit})`);
			if (step < W) return warmup(step, W);
			if (step > N) return lrEnd / lrInit;
			const decaySteps = N - W;
			const pctRemaining = 1 - (step - W) / decaySteps;
			return ((lrInit - lrEnd) * pctRemaining ** power + lrEnd) / lrInit;
		}
	}
}

/**
 * `TrainingArguments.get_warmup_steps`: warmup_steps if > 0, else ceil(total × warmup_ratio).
 * transformers v5 deprecates warmup_ratio and reads a float warmup_steps < 1 as a ratio; we accept
 * that too (ceil(total × warmup_steps)).
 */
export function warmupStepsFor(
	args: Pick<TrainingArguments, 'warmup_steps' | 'warmup_ratio'>,
	totalSteps: number
): number {
	if (args.warmup_steps >= 1) return args.warmup_steps;
	if (args.warmup_steps > 0) return Math.ceil(totalSteps * args.warmup_steps);
	return Math.ceil(totalSteps * args.warmup_ratio);
}

/** Learning rate of optimizer step `step` (0-based) in a run of `totalSteps` optimizer steps. */
export function learningRateAt(args: TrainingArguments, step: number, totalSteps: number): number {
	const kw = args.lr_scheduler_kwargs ?? {};
	return (
		args.learning_rate *
		lrFactor(args.lr_scheduler_type, step, {
			warmupSteps: warmupStepsFor(args, totalSteps),
			totalSteps,
			numCycles: kw.num_cycles,
			lrEnd: kw.lr_end,
			power: kw.power,
			lrInit: args.learning_rate
		})
	);
}

export interface TrainingPlan {
	/** Micro-batches per epoch: ceil(examples / per_device_train_batch_size) (drop_last = false). */
	batchesPerEpoch: number;
	/** Optimizer steps per epoch: ceil(batches / gradient_accumulation_steps), at least 1. */
	updatesPerEpoch: number;
	/** Total optimizer steps (the scheduler's num_training_steps). */
	totalSteps: number;
	warmupSteps: number;
	/** Epochs the loop starts (the last may stop early at totalSteps). */
	epochs: number;
}

/**
 * The run's step counts as the Trainer computes them. Current transformers
 * (`Trainer.set_initial_training_values`, 2025) counts ceil(batches / grad_accum) updates per
 * epoch: the trailing partial accumulation of an epoch IS an optimizer step. (The 4.46 loop already
 * took that step but told the scheduler floor(batches / grad_accum), max 1, so the two disagreed
 * when batches % grad_accum ≠ 0.) We follow the current rule: max_steps if > 0, else
 * ceil(num_train_epochs × updatesPerEpoch).
 */
export function trainingPlan(args: TrainingArguments, numExamples: number): TrainingPlan {
	const batchesPerEpoch = Math.ceil(numExamples / args.per_device_train_batch_size);
	const ga = args.gradient_accumulation_steps;
	const updatesPerEpoch = Math.max(
		Math.floor(batchesPerEpoch / ga) + (batchesPerEpoch % ga > 0 ? 1 : 0),
		1
	);
	const totalSteps =
		args.max_steps > 0 ? args.max_steps : Math.ceil(args.num_train_epochs * updatesPerEpoch);
	const epochs =
		args.max_steps > 0
			? Math.ceil(args.max_steps / updatesPerEpoch)
			: Math.ceil(args.num_train_epochs);
	return {
		batchesPerEpoch,
		updatesPerEpoch,
		totalSteps,
		warmupSteps: warmupStepsFor(args, totalSteps),
		epochs
	};
}

/** Logging/eval/save intervals: a value < 1 is a ratio of the total steps, rounded up (Trainer). */
export function resolveInterval(value: number, totalSteps: number): number {
	return value < 1 ? Math.ceil(totalSteps * value) : value;
}
