/**
 * `trainer_state.json` as the Hugging Face Trainer writes it (transformers 5.x
 * `TrainerState.save_to_json`: `json.dumps(asdict(state), indent=2, sort_keys=True)`), from a
 * studio run's arguments and the per-step metrics the trainer records. Pure: runs in the worker,
 * on a page and in Node (the engine CLI).
 *
 * `log_history`, as `Trainer._maybe_log_save_evaluate` fills it:
 * - every `logging_steps` optimizer steps (a ratio < 1 is of max_steps, rounded up):
 *   `loss` = the mean of the step losses since the previous log entry (the Trainer sums each
 *   step's loss into `tr_loss` and divides by the steps since it last logged), `grad_norm` = the
 *   norm before clipping of that step, `learning_rate` = the rate that step used (5.x reads it
 *   before `lr_scheduler.step()`), `epoch` (fractional), `step`;
 * - after it, on evaluation steps: `eval_loss` and the extra metrics as `eval_<name>`;
 * - when the run is complete, the final entry with `train_loss` = the mean of every step loss.
 * What the studio does not measure (flos, runtimes per evaluation) is left out, not invented.
 */
import type { TrainingArguments } from './config';
import { resolveInterval, trainingPlan } from './schedule';
import { bestMetricRule, evalMetricName, improves } from './best-metric';

/** One recorded step or evaluation (the studio's TrainingMetric, or the trainer's reports). */
export interface RecordedMetric {
	step: number;
	epoch: number;
	loss?: number;
	learningRate?: number;
	gradNorm?: number;
	evalLoss?: number;
	/** Extra evaluation metrics (judge scores), logged as `eval_<name>`. */
	scores?: Record<string, number>;
}

export interface TrainerStateInput {
	args: TrainingArguments;
	/** Training examples of the run (the plan: max_steps, epochs). */
	numExamples: number;
	/** In step order; steps past a resume point appear once. */
	metrics: RecordedMetric[];
	/** Where checkpoints would live (`best_model_checkpoint` = `{outputDir}/checkpoint-{step}`). */
	outputDir?: string;
	/** Wall-clock seconds of the whole run, for the final entry's `train_runtime` (omitted if unknown). */
	runtimeSeconds?: number;
}

export type LogEntry = Record<string, number>;

/** The fields of transformers' `TrainerState` dataclass. */
export interface HfTrainerState {
	best_global_step: number | null;
	best_metric: number | null;
	best_model_checkpoint: string | null;
	epoch: number;
	eval_steps: number;
	global_step: number;
	is_hyper_param_search: boolean;
	is_local_process_zero: boolean;
	is_world_process_zero: boolean;
	log_history: LogEntry[];
	logging_steps: number;
	max_steps: number;
	num_input_tokens_seen: number;
	num_train_epochs: number;
	save_steps: number;
	stateful_callbacks: Record<string, unknown>;
	total_flos: number;
	train_batch_size: number;
	trial_name: string | null;
	trial_params: Record<string, unknown> | null;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function evalEntry(m: RecordedMetric): LogEntry {
	const entry: LogEntry = { eval_loss: m.evalLoss! };
	for (const [name, value] of Object.entries(m.scores ?? {})) entry[evalMetricName(name)] = value;
	return { ...entry, epoch: m.epoch, step: m.step };
}

export function hfTrainerState(input: TrainerStateInput): HfTrainerState {
	const { args } = input;
	const plan = trainingPlan(args, input.numExamples);
	const maxSteps = plan.totalSteps;
	const loggingSteps = resolveInterval(args.logging_steps, maxSteps);
	const evalSteps = resolveInterval(
		args.eval_steps ?? (args.eval_strategy === 'steps' ? args.logging_steps : 500),
		maxSteps
	);
	const saveSteps = resolveInterval(args.save_steps, maxSteps);
	const rule = bestMetricRule(args);
	const savesBest = ['steps', 'epoch', 'best'].includes(args.save_strategy);

	const logHistory: LogEntry[] = [];
	let sinceLog = 0;
	let lastLogged = 0;
	let lossTotal = 0;
	let globalStep = 0;
	let epoch = 0;
	let bestMetric: number | null = null;
	let bestStep: number | null = null;
	for (const m of input.metrics) {
		if (m.loss !== undefined) {
			globalStep = m.step;
			epoch = m.epoch;
			sinceLog += m.loss;
			lossTotal += m.loss;
			if (m.step % loggingSteps === 0) {
				const entry: LogEntry = { loss: sinceLog / (m.step - lastLogged) };
				if (m.gradNorm !== undefined) entry.grad_norm = m.gradNorm;
				if (m.learningRate !== undefined) entry.learning_rate = m.learningRate;
				logHistory.push({ ...entry, epoch: m.epoch, step: m.step });
				sinceLog = 0;
				lastLogged = m.step;
			}
		}
		if (m.evalLoss !== undefined) {
			const entry = evalEntry(m);
			logHistory.push(entry);
			const value = rule ? entry[rule.key] : undefined;
			if (rule && value !== undefined) {
				if (improves(rule, value, bestMetric)) {
					bestMetric = value;
					if (savesBest) bestStep = m.step;
				}
			}
		}
	}
	const complete = globalStep >= maxSteps && globalStep > 0;
	if (complete) {
		const final: LogEntry = {};
		const runtime = input.runtimeSeconds;
		if (runtime !== undefined && runtime > 0) {
			// transformers' speed_metrics, with its num_train_samples and rounding
			const samples =
				args.max_steps > 0
					? maxSteps * args.per_device_train_batch_size * args.gradient_accumulation_steps
					: input.numExamples * args.num_train_epochs;
			final.train_runtime = round(runtime, 4);
			final.train_samples_per_second = round(samples / runtime, 3);
			final.train_steps_per_second = round(maxSteps / runtime, 3);
		}
		logHistory.push({
			...final,
			total_flos: 0,
			train_loss: lossTotal / globalStep,
			epoch,
			step: globalStep
		});
	}
	// a checkpoint exists for the best step when it was a save step (or the last one)
	const bestSaved =
		bestStep !== null &&
		(args.save_strategy === 'best' ||
			(args.save_strategy === 'steps' && (bestStep % saveSteps === 0 || bestStep === maxSteps)) ||
			args.save_strategy === 'epoch');
	const outputDir = input.outputDir ?? '.';
	return {
		best_global_step: bestStep,
		best_metric: bestMetric,
		best_model_checkpoint: bestSaved ? `${outputDir}/checkpoint-${bestStep}` : null,
		epoch,
		eval_steps: evalSteps,
		global_step: globalStep,
		is_hyper_param_search: false,
		is_local_process_zero: true,
		is_world_process_zero: true,
		log_history: logHistory,
		logging_steps: loggingSteps,
		max_steps: maxSteps,
		num_input_tokens_seen: 0,
		num_train_epochs: plan.epochs,
		save_steps: saveSteps,
		stateful_callbacks: {
			TrainerControl: {
				args: {
					should_epoch_stop: false,
					should_evaluate: false,
					should_log: false,
					should_save: complete && args.save_strategy !== 'no',
					should_training_stop: complete
				},
				attributes: {}
			}
		},
		total_flos: 0,
		train_batch_size: args.per_device_train_batch_size,
		trial_name: null,
		trial_params: null
	};
}

/** Keys whose numbers Python holds as floats (written `2.0`, `1e-05`), the rest are ints. */
const FLOAT_KEYS =
	/^(loss|grad_norm|learning_rate|epoch|train_loss|total_flos|best_metric|train_runtime|train_samples_per_second|train_steps_per_second|eval_(?!steps$).*)$/;

/** A number as Python's `repr(float)` writes it (the shortest round-trip digits, as JS has them). */
export function pythonFloat(x: number): string {
	if (Number.isNaN(x)) return 'NaN';
	if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
	const [mantissa, exp] = x.toExponential().split('e');
	const e = Number(exp);
	if (e < -4 || e >= 16)
		return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
	return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** `json.dumps(value, indent=2, sort_keys=True)` for plain JSON values; numbers under FLOAT_KEYS as floats. */
function pythonJson(value: unknown, indent: string, floatKey: boolean): string {
	if (value === null || value === undefined) return 'null';
	if (typeof value === 'number') return floatKey ? pythonFloat(value) : String(value);
	if (typeof value !== 'object') return JSON.stringify(value);
	const inner = `${indent}  `;
	if (Array.isArray(value)) {
		if (value.length === 0) return '[]';
		return `[\n${value.map((v) => inner + pythonJson(v, inner, floatKey)).join(',\n')}\n${indent}]`;
	}
	const keys = Object.keys(value).sort();
	if (keys.length === 0) return '{}';
	const body = keys.map(
		(k) =>
			`${inner}${JSON.stringify(k)}: ${pythonJson((value as Record<string, unknown>)[k], inner, FLOAT_KEYS.test(k))}`
	);
	return `{\n${body.join(',\n')}\n${indent}}`;
}

/** The file's text, byte for byte in the Trainer's layout (sorted keys, 2 spaces, final newline). */
export function trainerStateJson(state: HfTrainerState): string {
	return pythonJson(state, '', false) + '\n';
}

/** Both steps in one: the run's trainer_state.json text. */
export function trainerStateFile(input: TrainerStateInput): string {
	return trainerStateJson(hfTrainerState(input));
}
