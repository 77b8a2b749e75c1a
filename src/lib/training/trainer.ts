/**
 * The LoRA training loop over the GPU engine, as transformers' Trainer runs it:
 *
 *   per epoch: order = seeded shuffle (or file order with shuffle: false)
 *              micro-batches of per_device_train_batch_size examples (drop_last = false)
 *              optimizer step = gradient_accumulation_steps micro-batches (the epoch's trailing
 *              partial group is a step too: trainingPlan)
 *   per step:  N = supervised tokens of ALL its micro-batches (num_items_in_batch, ≥ 4.46;
 *                  trainerNumItemsInBatch counts the unshifted labels)
 *              grads = 0;  for each example: backward.lossAndGrads(ids, labels, gradScale 1/N)
 *              (padding-free: each example of a micro-batch runs alone, which is what padding
 *              labelled −100 computes)
 *              loss = Σ lossSum / N;  lr = learningRateAt(step);  clip + AdamW (kernels/adamw.ts)
 *              report {step, epoch, loss, learningRate, gradNorm, tokensPerSecond, etaSeconds, gpuBytes}
 *              eval every eval_steps (eval loss + an optional metric hook)
 *
 * Deterministic given the seed: the shuffle is mulberry32(seed, epoch), the dropout mask seed is a
 * function of (seed, step, micro-batch). The state between steps (adapter, AdamW moments, step,
 * data position) is a plain structured-cloneable object (TrainerState) for checkpoints and resume.
 * stop() / pause: a flag checked between the examples of an optimizer step; a step cut short keeps
 *              its accumulated gradients and loss in the state (`partial`), and a resume finishes
 *              it exactly as an uninterrupted run would (same examples, dropout seeds, order).
 *
 * Not the Trainer's: its RandomSampler draws from torch's generator; ours is a different (seeded)
 * permutation. With shuffle: false the order is the file's, as in a reference run.
 */
import { bestMetricRuleOrLoss, improves, metricValue } from '../lora/best-metric';
import { trainerNumItemsInBatch } from '../lora/labels';
import { mulberry32 } from '../random';
import { AdamWOptimizer, type AdamWHostState, type AdamWStepHyper } from '../webgpu/kernels/adamw';
import type { LoraAdapter } from '../lora/adapter';
import type { TrainingArguments } from '../lora/config';
import type { TrainingExample } from '../lora/examples';
import type { GpuLoraAdapter } from './gpu-adapter';
import { learningRateAt, resolveInterval, trainingPlan, type TrainingPlan } from '../lora/schedule';

/** What the trainer needs of the GPU backward (webgpu/gemma2/backward.ts Gemma2Backward). */
export interface LossAndGradsEngine {
	/** Accumulates gradScale · ∂(Σ CE)/∂θ into the LoRA gradients; returns Σ CE and the target count. */
	lossAndGrads(
		ids: number[],
		labels: number[],
		opts: { gradScale: number }
	): Promise<{ lossSum: number; count: number }>;
	/** Forward-only loss, when the backward offers one (else lossAndGrads with gradScale 0). */
	loss?(ids: number[], labels: number[]): Promise<{ lossSum: number; count: number }>;
}

export interface StepReport {
	/** Optimizer steps done (1 after the first). */
	step: number;
	totalSteps: number;
	/** Fractional epoch, as the Trainer logs it. */
	epoch: number;
	/** Token-weighted mean loss of this step's micro-batches. */
	loss: number;
	/** The learning rate this step used. */
	learningRate: number;
	/** Global L2 norm of the gradients before clipping. */
	gradNorm: number;
	tokensPerSecond: number;
	etaSeconds: number;
	gpuBytes: number;
}

export interface EvalReport {
	step: number;
	epoch: number;
	evalLoss: number;
	/** From the metric hook, e.g. { eval_tone_score: 3.1, eval_combined_score: 2.9 }. */
	metrics: Record<string, number>;
	/** metric_for_best_model (default eval_loss) improved on every earlier evaluation. */
	isBest: boolean;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainerState {
	version: 1;
	/** Optimizer steps done. */
	step: number;
	/** Epoch being run and the micro-batch index in it where the next step starts. */
	epoch: number;
	batchInEpoch: number;
	adapter: LoraAdapter;
	optimizer: AdamWHostState;
	log: (StepReport | EvalReport)[];
	/** Best value of metric_for_best_model so far, and the step it was reached at (null: none yet). */
	best: { metric: string; value: number; step: number } | null;
	/** The training arguments and dataset size the plan was made for (resume checks them). */
	args: TrainingArguments;
	numExamples: number;
	/** The optimizer step `step + 1`, paused after some of its examples (absent between steps). */
	partial?: PartialStep;
}

/** An optimizer step cut short by a pause: the examples done, their loss sum, their gradients. */
export interface PartialStep {
	examplesDone: number;
	lossSum: number;
	/** By PEFT tensor name (GpuLoraAdapter.downloadGrads). */
	grads: Map<string, Float32Array>;
}

export interface TrainerOptions {
	device: GPUDevice;
	backward: LossAndGradsEngine;
	/** Trainable (created with { trainable: true }) and hooked into the engine as `engine.lora`. */
	adapter: GpuLoraAdapter;
	args: TrainingArguments;
	train: TrainingExample[];
	eval?: TrainingExample[];
	/** Extra evaluation metrics (generation-based scores…), run after the eval loss. */
	metric?: (step: number) => Promise<Record<string, number>>;
	onStep?: (r: StepReport) => void;
	onEval?: (r: EvalReport) => void;
	/** Evaluation progress: examples done of the eval set (0 when it starts), for a UI that waits. */
	onEvalProgress?: (done: number, total: number) => void;
	/**
	 * Called with a checkpoint when save_strategy says so: every save_steps ('steps'), at each
	 * epoch's end ('epoch'), or when the evaluation metric improves ('best'). Keeping only
	 * save_total_limit of them (and the best one) is the caller's storage policy.
	 */
	onSave?: (state: TrainerState) => Promise<void>;
	/** Continue from a checkpoint. */
	resume?: TrainerState;
	/** Bytes on the GPU for the reports (default: adapter + optimizer). */
	gpuBytes?: () => number;
}

/** Seeded Fisher–Yates permutation of 0..n−1 for one epoch. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
	const order = Array.from({ length: n }, (_, i) => i);
	if (!shuffle) return order;
	const rnd = mulberry32(
		(Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0
	);
	for (let i = n - 1; i > 0; i--) {
		const j = Math.floor(rnd() * (i + 1));
		[order[i], order[j]] = [order[j], order[i]];
	}
	return order;
}

export class LoraTrainer {
	readonly plan: TrainingPlan;
	readonly optimizer: AdamWOptimizer;
	readonly log: (StepReport | EvalReport)[] = [];
	private step = 0;
	private epoch = 0;
	private batchInEpoch = 0;
	private stopRequested = false;
	/** The step in progress when a pause cut it short (its gradients stay in the adapter's buffers). */
	private partial: Omit<PartialStep, 'grads'> | null = null;
	private best: TrainerState['best'] = null;
	private readonly evalEvery: number;
	private readonly saveEvery: number;

	constructor(private readonly o: TrainerOptions) {
		if (!o.adapter.trainable) throw new Error('LoraTrainer: the adapter has no gradient buffers');
		if (o.train.length === 0) throw new Error('LoraTrainer: no training examples');
		this.plan = trainingPlan(o.args, o.train.length);
		this.optimizer = new AdamWOptimizer(
			o.device,
			o.adapter.memory,
			o.adapter.segments.map((s) => ({ params: s.params, grads: s.grads!, floats: s.floats }))
		);
		this.evalEvery = resolveInterval(
			o.args.eval_steps ?? o.args.logging_steps,
			this.plan.totalSteps
		);
		this.saveEvery = resolveInterval(o.args.save_steps, this.plan.totalSteps);
		if (o.resume) this.restore(o.resume);
	}

	/** Optimizer steps done. */
	get stepsDone(): number {
		return this.step;
	}

	get finished(): boolean {
		return this.step >= this.plan.totalSteps;
	}

	/**
	 * Ask the loop to stop after the example being run (pause = stop + resume from state(); a step
	 * cut short is finished by the resume).
	 */
	stop(): void {
		this.stopRequested = true;
	}

	/** Best evaluation so far (metric_for_best_model, default eval_loss). */
	get bestEval(): TrainerState['best'] {
		return this.best;
	}

	/**
	 * Runs until the plan is done or stop() is called — also a stop() made before run(), e.g. a
	 * pause pressed while the run was being prepared. Returns the steps done.
	 */
	async run(): Promise<number> {
		try {
			return await this.runSteps();
		} finally {
			this.stopRequested = false; // used up: a later run() continues
		}
	}

	private async runSteps(): Promise<number> {
		const { args } = this.o;
		const bs = args.per_device_train_batch_size;
		const ga = args.gradient_accumulation_steps;
		const n = this.o.train.length;
		const { batchesPerEpoch, totalSteps } = this.plan;
		let stepSeconds = 0;
		let timedSteps = 0;
		while (this.step < totalSteps && !this.stopRequested) {
			const order = epochOrder(n, args.seed, this.epoch, args.shuffle);
			while (this.batchInEpoch < batchesPerEpoch && this.step < totalSteps && !this.stopRequested) {
				const t0 = performance.now();
				const first = this.batchInEpoch;
				const last = Math.min(first + ga, batchesPerEpoch);
				const examples: TrainingExample[] = [];
				for (let b = first; b < last; b++)
					for (let i = b * bs; i < Math.min((b + 1) * bs, n); i++)
						examples.push(this.o.train[order[i]]);
				const report = await this.optimizerStep(examples);
				if (!report) return this.step; // paused mid-step: state() keeps the partial step
				this.batchInEpoch = last;
				const dt = (performance.now() - t0) / 1000;
				stepSeconds += dt;
				timedSteps++;
				const tokens = examples.reduce((s, e) => s + e.input_ids.length, 0);
				const r: StepReport = {
					...report,
					step: this.step,
					totalSteps,
					epoch: this.epoch + this.batchInEpoch / batchesPerEpoch,
					tokensPerSecond: tokens / Math.max(dt, 1e-9),
					etaSeconds: (stepSeconds / timedSteps) * (totalSteps - this.step),
					gpuBytes: this.o.gpuBytes?.() ?? this.o.adapter.gpuBytes + this.optimizer.gpuBytes
				};
				this.log.push(r);
				this.o.onStep?.(r);
				const epochDone = this.batchInEpoch >= batchesPerEpoch;
				let improved = false;
				if (
					this.o.eval?.length &&
					((args.eval_strategy === 'steps' && this.step % this.evalEvery === 0) ||
						(args.eval_strategy === 'epoch' && epochDone))
				)
					improved = (await this.evaluate()).isBest;
				if (epochDone) {
					this.epoch++;
					this.batchInEpoch = 0;
				}
				if (
					this.o.onSave &&
					((args.save_strategy === 'steps' && this.step % this.saveEvery === 0) ||
						(args.save_strategy === 'epoch' && epochDone) ||
						(args.save_strategy === 'best' && improved))
				)
					await this.o.onSave(await this.state());
				if (epochDone) break; // next epoch, next order
			}
		}
		return this.step;
	}

	/**
	 * One optimizer step over `examples` (all micro-batches of the accumulation step), continuing a
	 * paused one; null when a stop request cut it short (then `partial` says how far it got).
	 */
	private async optimizerStep(
		examples: TrainingExample[]
	): Promise<Pick<StepReport, 'loss' | 'learningRate' | 'gradNorm'> | null> {
		const { device, adapter, backward, args } = this.o;
		const N = trainerNumItemsInBatch(examples);
		const from = this.partial?.examplesDone ?? 0;
		let lossSum = this.partial?.lossSum ?? 0;
		this.partial = null;
		let enc: GPUCommandEncoder;
		if (from === 0) {
			enc = device.createCommandEncoder({ label: 'lora.zero_grads' });
			adapter.zeroGrads(enc);
			device.queue.submit([enc.finish()]);
		}
		adapter.training = true;
		try {
			for (let i = from; i < examples.length; i++) {
				if (i > from && this.stopRequested) {
					this.partial = { examplesDone: i, lossSum };
					return null;
				}
				adapter.dropoutSeed =
					(Math.imul(args.seed + 1, 0x27d4eb2f) ^
						Math.imul(this.step + 1, 0x165667b1) ^
						(i * 0x9e3779b1)) >>>
					0;
				const e = examples[i];
				const r = await backward.lossAndGrads(e.input_ids, e.labels, {
					gradScale: N > 0 ? 1 / N : 0
				});
				lossSum += r.lossSum;
			}
		} finally {
			adapter.training = false;
		}
		const learningRate = learningRateAt(args, this.step, this.plan.totalSteps);
		enc = device.createCommandEncoder({ label: 'lora.adamw' });
		this.optimizer.encodeStep(enc, adamwStepOptions(args, learningRate));
		device.queue.submit([enc.finish()]);
		const { norm } = await this.optimizer.readGradNorm();
		this.step++;
		return { loss: lossSum / N, learningRate, gradNorm: norm };
	}

	/** Token-weighted eval loss over the eval set (adapter in eval mode: no dropout), then the metric hook. */
	async evaluate(): Promise<EvalReport> {
		const { backward, eval: data = [] } = this.o;
		let lossSum = 0;
		let count = 0;
		this.o.onEvalProgress?.(0, data.length);
		for (const [i, e] of data.entries()) {
			const r = backward.loss
				? await backward.loss(e.input_ids, e.labels)
				: await backward.lossAndGrads(e.input_ids, e.labels, { gradScale: 0 });
			lossSum += r.lossSum;
			count += r.count;
			this.o.onEvalProgress?.(i + 1, data.length);
		}
		const metrics = (await this.o.metric?.(this.step)) ?? {};
		const evalLoss = lossSum / count;
		// the Trainer's rule (best-metric.ts): metric_for_best_model with the eval_ prefix, default
		// eval_loss; greater_is_better defaults to false only for a name ending in "loss"
		const rule = bestMetricRuleOrLoss(this.o.args);
		const value = metricValue(rule, { ...metrics, eval_loss: evalLoss });
		let isBest = false;
		if (value !== undefined) {
			isBest = improves(rule, value, this.best?.value ?? null);
			if (isBest) this.best = { metric: rule.key, value, step: this.step };
		}
		const r: EvalReport = {
			step: this.step,
			epoch: this.epoch + this.batchInEpoch / this.plan.batchesPerEpoch,
			evalLoss,
			metrics,
			isBest
		};
		this.log.push(r);
		this.o.onEval?.(r);
		return r;
	}

	/** A checkpoint: everything to resume (structured-cloneable: typed arrays, maps, numbers). */
	async state(): Promise<TrainerState> {
		return {
			version: 1,
			step: this.step,
			epoch: this.epoch,
			batchInEpoch: this.batchInEpoch,
			adapter: await this.o.adapter.download(),
			optimizer: await this.optimizer.exportState(),
			log: structuredClone(this.log),
			best: this.best && { ...this.best },
			args: structuredClone(this.o.args),
			numExamples: this.o.train.length,
			...(this.partial && {
				partial: { ...this.partial, grads: await this.o.adapter.downloadGrads() }
			})
		};
	}

	private restore(s: TrainerState): void {
		if (s.version !== 1) throw new Error(`TrainerState version ${s.version} is not supported`);
		if (s.numExamples !== this.o.train.length)
			throw new Error(
				`resume: the checkpoint was made for ${s.numExamples} examples, this run has ${this.o.train.length}`
			);
		this.o.adapter.upload(s.adapter);
		this.optimizer.importState(s.optimizer);
		this.step = s.step;
		this.epoch = s.epoch;
		this.batchInEpoch = s.batchInEpoch;
		// taken at an epoch's end before its bookkeeping (a pause during that evaluation): the same
		// position as the next epoch's start (the reported epoch, epoch + batchInEpoch / per epoch, too)
		if (this.batchInEpoch >= this.plan.batchesPerEpoch) {
			this.epoch++;
			this.batchInEpoch = 0;
		}
		this.log.push(...s.log);
		this.best = s.best && { ...s.best };
		if (s.partial) {
			this.o.adapter.uploadGrads(s.partial.grads);
			this.partial = { examplesDone: s.partial.examplesDone, lossSum: s.partial.lossSum };
		}
	}

	destroy(): void {
		this.optimizer.destroy();
	}
}

/** The AdamW kernel's options for one step at learning rate `lr`, from the training arguments. */
export function adamwStepOptions(args: TrainingArguments, lr: number): AdamWStepHyper {
	return {
		lr,
		beta1: args.adam_beta1,
		beta2: args.adam_beta2,
		eps: args.adam_epsilon,
		weightDecay: args.weight_decay,
		maxGradNorm: args.max_grad_norm
	};
}
