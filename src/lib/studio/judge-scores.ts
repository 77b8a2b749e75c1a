/**
 * Judge scores of a set of replies, aggregated as a training evaluation records them (issue 14):
 * per criterion the mean and spread (population standard deviation) over the judged replies, a
 * failed judgment counted as failed (never as a zero), and the rubric's combined score — its
 * `combined` weights when the rubric defines them, else the plain mean of the criteria means (the
 * seeds' combination of tone and flow). Metric names follow the Trainer: `eval_<criterion>_score`
 * and `eval_combined_score`. Pure.
 */
import type { Judgment, Rubric } from '../data/types';

export interface CriterionSummary {
	mean: number;
	/** Population standard deviation over the judged replies (0 for one reply). */
	spread: number;
	/** Replies with a score for this criterion. */
	count: number;
}

export interface ScoreSummary {
	criteria: Record<string, CriterionSummary>;
	/** Weighted mean of the criteria means; null when a criterion has no score at all. */
	combined: number | null;
	judged: number;
	failed: number;
}

/** A reply's judgment, or the reason it failed (counted as failed, not as a zero). */
export type JudgedReply = Pick<Judgment, 'scores'> | { error: string };

type ScoringRubric = Pick<Rubric, 'criteria' | 'combined'>;

/** The weights of the combined score: the rubric's own, else equal over its criteria. */
export function combinedWeights(rubric: ScoringRubric): Record<string, number> {
	if (rubric.combined && Object.keys(rubric.combined).length) return rubric.combined;
	return Object.fromEntries(rubric.criteria.map((c) => [c.key, 1]));
}

export function summarizeScores(rubric: ScoringRubric, replies: JudgedReply[]): ScoreSummary {
	const ok = replies.filter((r): r is Pick<Judgment, 'scores'> => !('error' in r));
	const criteria: Record<string, CriterionSummary> = {};
	for (const c of rubric.criteria) {
		const values = ok
			.map((r) => r.scores[c.key]?.score)
			.filter((v): v is number => v !== undefined && Number.isFinite(v));
		if (!values.length) continue;
		const mean = values.reduce((a, b) => a + b, 0) / values.length;
		const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
		criteria[c.key] = { mean, spread: Math.sqrt(variance), count: values.length };
	}
	const weights = Object.entries(combinedWeights(rubric));
	const total = weights.reduce((s, [, w]) => s + w, 0);
	const combined =
		total > 0 && weights.every(([k]) => criteria[k])
			? weights.reduce((s, [k, w]) => s + w * criteria[k].mean, 0) / total
			: null;
	return { criteria, combined, judged: ok.length, failed: replies.length - ok.length };
}

/** The names an evaluation with this rubric records (for checkBestMetric before a run). */
export function scoreMetricNames(rubric: Pick<Rubric, 'criteria'>): string[] {
	return [...rubric.criteria.map((c) => `eval_${c.key}_score`), 'eval_combined_score'];
}

/** The summary as the trainer's metric hook returns it (missing values are left out, not 0). */
export function scoreMetrics(summary: ScoreSummary): Record<string, number> {
	const out: Record<string, number> = {};
	for (const [key, c] of Object.entries(summary.criteria)) out[`eval_${key}_score`] = c.mean;
	if (summary.combined !== null) out.eval_combined_score = summary.combined;
	return out;
}
