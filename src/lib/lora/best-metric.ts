/**
 * Which checkpoint is the best, as transformers' Trainer decides it, and what the studio adds
 * around it. Pure: runs in the worker, on a page and in Node.
 *
 * - The name: `metric_for_best_model` (default `loss` when `load_best_model_at_end`), with the
 *   Trainer's normalisation: a name that does not start with `eval_` gets the prefix
 *   (`combined_score` → `eval_combined_score`, `loss` → `eval_loss`).
 * - The direction: `greater_is_better` when set, else false only for a name ending in `loss`.
 * - Before a run: a metric no configured evaluation produces is an error (the Trainer only finds
 *   out at the first evaluation; a studio run would silently never pick a best checkpoint).
 * - Rotation: the Trainer's `save_total_limit` rule, which never deletes the best.
 * - Overfitting: the chosen score got worse for `patience` evaluations in a row while the training
 *   loss kept falling; names the best step.
 */
import { TrainingConfigError, type ConfigRule, type TrainingArguments } from './config';

export interface BestMetricRule {
	/** The logged name, `eval_`-prefixed (e.g. `eval_combined_score`). */
	key: string;
	greater: boolean;
}

/** The Trainer's `eval_` prefix: `combined_score` → `eval_combined_score`; `eval_loss` stays. */
export function evalMetricName(name: string): string {
	return name.startsWith('eval_') ? name : `eval_${name}`;
}

/** `metric_for_best_model` as the Trainer reads it, or null when no best checkpoint is tracked. */
export function bestMetricRule(
	args: Pick<
		TrainingArguments,
		'metric_for_best_model' | 'load_best_model_at_end' | 'greater_is_better'
	>
): BestMetricRule | null {
	const name = args.metric_for_best_model ?? (args.load_best_model_at_end ? 'loss' : null);
	if (name === null) return null;
	return { key: evalMetricName(name), greater: args.greater_is_better ?? !name.endsWith('loss') };
}

/** The rule the trainer applies when nothing is configured: eval_loss, lower is better. */
export function bestMetricRuleOrLoss(args: TrainingArguments): BestMetricRule {
	return bestMetricRule(args) ?? { key: 'eval_loss', greater: false };
}

/** The value of the rule's metric in one evaluation's metrics (names with or without `eval_`). */
export function metricValue(
	rule: BestMetricRule,
	metrics: Record<string, number>
): number | undefined {
	const value = metrics[rule.key] ?? metrics[rule.key.replace(/^eval_/, '')];
	return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** Whether `value` beats `best` under the rule (anything beats no best yet). */
export function improves(rule: BestMetricRule, value: number, best: number | null): boolean {
	return best === null || (rule.greater ? value > best : value < best);
}

/** What a run's evaluations will record, given what is configured. */
export interface EvaluationPlan {
	/** The dataset has an eval split (the eval loss is computed). */
	evalSet: boolean;
	/** The names the judge evaluation records (`eval_tone_score`, …, `eval_combined_score`). */
	judgeMetrics?: string[];
}

/** The `eval_` names the run's evaluations will produce (none when it never evaluates). */
export function producedMetrics(args: TrainingArguments, plan: EvaluationPlan): string[] {
	if (args.eval_strategy === 'no' || !plan.evalSet) return [];
	return ['eval_loss', ...(plan.judgeMetrics ?? []).map(evalMetricName)];
}

/**
 * Throws a TrainingConfigError (field metric_for_best_model, rule 'bestMetric') when the run tracks
 * a best metric that none of its evaluations produce, e.g. `combined_score` without a judge
 * evaluation, or anything with `eval_strategy: "no"`.
 */
export function checkBestMetric(args: TrainingArguments, plan: EvaluationPlan): void {
	const rule = bestMetricRule(args);
	if (!rule) return;
	checkLoadBest(args);
	const produced = producedMetrics(args, plan);
	if (produced.includes(rule.key)) return;
	const field =
		args.metric_for_best_model === null ? 'load_best_model_at_end' : 'metric_for_best_model';
	const available = produced.length ? produced.join(', ') : 'none';
	throw new TrainingConfigError(
		'metric_for_best_model',
		args.metric_for_best_model,
		`${field} needs ${rule.key}, which no configured evaluation produces (produced: ${available})` +
			(rule.key.endsWith('_score') && !plan.judgeMetrics?.length
				? '; configure a judge evaluation for the run'
				: ''),
		'bestMetric',
		{ metric: rule.key, available }
	);
}

/** checkBestMetric's problem by field, as the training form shows problems (empty: none). */
export function bestMetricProblems(
	args: TrainingArguments,
	plan: EvaluationPlan
): Record<string, { rule: ConfigRule; params: Record<string, string | number> }> {
	try {
		checkBestMetric(args, plan);
		return {};
	} catch (e) {
		if (!(e instanceof TrainingConfigError)) throw e;
		return { [e.field]: { rule: e.rule, params: e.params } };
	}
}

/**
 * The Trainer's own check: with load_best_model_at_end a checkpoint must be saved at every
 * evaluation (save_strategy "best", or the eval strategy with save_steps a multiple of eval_steps),
 * else the best evaluation may have no checkpoint to load.
 */
function checkLoadBest(args: TrainingArguments): void {
	if (!args.load_best_model_at_end || args.save_strategy === 'best') return;
	const evalSteps = args.eval_steps ?? args.logging_steps;
	const problem =
		args.save_strategy !== args.eval_strategy
			? `save_strategy "${args.save_strategy}" must be eval_strategy's "${args.eval_strategy}" or "best"`
			: args.save_strategy === 'steps' && args.save_steps % evalSteps !== 0
				? `save_steps ${args.save_steps} must be a multiple of eval_steps ${evalSteps}`
				: null;
	if (problem)
		throw new TrainingConfigError(
			'load_best_model_at_end',
			true,
			`${problem}, so that every evaluation has a checkpoint`,
			'loadBest',
			{ problem }
		);
}

/**
 * The checkpoints (by step) that `save_total_limit` removes, by the Trainer's rule
 * (`_sorted_checkpoints` + `_rotate_checkpoints`): the best is moved just before the newest, then
 * the oldest go until `limit` are left. So the best is never deleted, and with a limit of 1 the
 * newest stays beside it (the run resumes from it). `limit` null or undefined keeps everything.
 */
export function checkpointsToDelete(
	steps: number[],
	limit: number | null | undefined,
	bestStep: number | null | undefined
): number[] {
	if (limit === null || limit === undefined) return [];
	const order = [...steps].sort((a, b) => a - b);
	let keep = Math.max(1, limit);
	const at = bestStep === null || bestStep === undefined ? -1 : order.indexOf(bestStep);
	if (at >= 0 && at < order.length - 1) {
		order.splice(at, 1);
		order.splice(order.length - 1, 0, bestStep!);
		if (keep === 1) keep = 2;
	}
	return order.slice(0, Math.max(0, order.length - keep)).sort((a, b) => a - b);
}

export interface ScoredEvaluation {
	step: number;
	value: number;
}

export interface OverfittingNotice {
	bestStep: number;
	bestValue: number;
	/** Evaluations in a row, at the end, where the score got worse. */
	falls: number;
	/** The newest evaluation's step. */
	lastStep: number;
}

/** The best evaluation under the rule (the earliest of equal values, as the Trainer keeps it). */
export function bestEvaluation(
	rule: BestMetricRule,
	evals: ScoredEvaluation[]
): ScoredEvaluation | null {
	let best: ScoredEvaluation | null = null;
	for (const e of evals) if (improves(rule, e.value, best?.value ?? null)) best = e;
	return best;
}

/**
 * Overfitting as the seeds saw it: the chosen score got worse at each of the last `patience`
 * evaluations while the training loss kept falling (the mean step loss in the window before the
 * newest evaluation is below the one before the best evaluation). Null when that is not the case.
 * `losses`: the training loss of every step, in step order.
 */
export function detectOverfitting(
	rule: BestMetricRule,
	evals: ScoredEvaluation[],
	losses: { step: number; loss: number }[],
	patience = 3
): OverfittingNotice | null {
	if (evals.length < patience + 1) return null;
	let falls = 0;
	for (let i = evals.length - 1; i > 0; i--) {
		if (!improves(rule, evals[i - 1].value, evals[i].value)) break;
		falls++;
	}
	if (falls < patience) return null;
	const best = bestEvaluation(rule, evals)!;
	const last = evals.at(-1)!;
	if (best.step === last.step) return null;
	const windowMean = (step: number): number | null => {
		const i = evals.findIndex((e) => e.step === step);
		const from = i > 0 ? evals[i - 1].step : 0;
		const inWindow = losses.filter((l) => l.step > from && l.step <= step);
		return inWindow.length ? inWindow.reduce((s, l) => s + l.loss, 0) / inWindow.length : null;
	};
	const lossAtBest = windowMean(best.step);
	const lossNow = windowMean(last.step);
	if (lossAtBest === null || lossNow === null || !(lossNow < lossAtBest)) return null;
	return { bestStep: best.step, bestValue: best.value, falls, lastStep: last.step };
}
