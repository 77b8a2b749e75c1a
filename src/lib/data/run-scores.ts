/**
 * A run's judge scores as the Train page shows them: one series per recorded score
 * (`eval_<criterion>_score`, `eval_combined_score`), the best evaluation under the run's own
 * metric_for_best_model rule, and the overfitting notice (lora/best-metric.ts). Pure.
 */
import type { TrainingRun } from './types';
import { parseTrainingConfig } from '../lora/config';
import {
	bestEvaluation,
	bestMetricRuleOrLoss,
	detectOverfitting,
	metricValue,
	type BestMetricRule,
	type OverfittingNotice,
	type ScoredEvaluation
} from '../lora/best-metric';

export interface RunScores {
	/** Score name → points (x: step), in step order. */
	series: Map<string, { x: number; y: number }[]>;
	rule: BestMetricRule;
	best: ScoredEvaluation | null;
	overfitting: OverfittingNotice | null;
	/** Steps with an evaluation that recorded scores. */
	steps: number[];
}

export function runScores(
	run: Pick<TrainingRun, 'metrics' | 'trainingArgs'>,
	patience = 3
): RunScores {
	let rule: BestMetricRule;
	try {
		rule = bestMetricRuleOrLoss(parseTrainingConfig({ training: run.trainingArgs }).training);
	} catch {
		rule = { key: 'eval_loss', greater: false };
	}
	const series = new Map<string, { x: number; y: number }[]>();
	const evals: ScoredEvaluation[] = [];
	const steps: number[] = [];
	for (const m of run.metrics) {
		if (m.evalLoss === undefined) continue;
		const scores = m.scores ?? {};
		if (Object.keys(scores).length) steps.push(m.step);
		for (const [name, y] of Object.entries(scores))
			if (Number.isFinite(y)) series.set(name, [...(series.get(name) ?? []), { x: m.step, y }]);
		const value = metricValue(rule, { ...scores, eval_loss: m.evalLoss });
		if (value !== undefined) evals.push({ step: m.step, value });
	}
	const losses = run.metrics.flatMap((m) =>
		m.loss !== undefined ? [{ step: m.step, loss: m.loss }] : []
	);
	return {
		series,
		rule,
		best: bestEvaluation(rule, evals),
		overfitting: detectOverfitting(rule, evals, losses, patience),
		steps
	};
}
