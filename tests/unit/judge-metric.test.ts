import { describe, expect, it } from 'vitest';
import {
	bestEvaluation,
	bestMetricRule,
	checkBestMetric,
	checkpointsToDelete,
	detectOverfitting,
	evalMetricName,
	metricValue
} from '../../src/lib/lora/best-metric';
import {
	SEED_PRESET,
	TRAINING_DEFAULTS,
	TrainingConfigError,
	type TrainingArguments
} from '../../src/lib/lora/config';
import {
	evaluationCost,
	evaluationsInRun,
	pickEvalPrompts
} from '../../src/lib/studio/eval-prompts';
import { runScores } from '../../src/lib/data/run-scores';
import { scoreMetricNames, scoreMetrics, summarizeScores } from '../../src/lib/studio/judge-scores';

const args = (over: Partial<TrainingArguments>): TrainingArguments => ({
	...TRAINING_DEFAULTS,
	lr_scheduler_kwargs: {},
	eval_strategy: 'steps',
	...over
});

const rubric = {
	criteria: [
		{ key: 'tone', label: 'tone', anchors: {} },
		{ key: 'flow', label: 'flow', anchors: {} }
	]
};
const judged = (tone: number, flow: number) => ({
	scores: { tone: { score: tone }, flow: { score: flow } }
});

describe('score aggregation', () => {
	it('means and spread per criterion; combined = mean of the criteria means', () => {
		const s = summarizeScores(rubric, [judged(4, 2), judged(2, 2), judged(3, 2)]);
		expect(s.criteria.tone.mean).toBeCloseTo(3, 12);
		expect(s.criteria.tone.spread).toBeCloseTo(Math.sqrt(2 / 3), 12);
		expect(s.criteria.flow).toEqual({ mean: 2, spread: 0, count: 3 });
		expect(s.combined).toBeCloseTo(2.5, 12);
		expect(s.judged).toBe(3);
		expect(s.failed).toBe(0);
		expect(scoreMetrics(s)).toEqual({
			eval_tone_score: 3,
			eval_flow_score: 2,
			eval_combined_score: 2.5
		});
	});

	it('a failed judgment is counted as failed, not as a zero', () => {
		const s = summarizeScores(rubric, [judged(4, 4), { error: 'no score found' }]);
		expect(s.criteria.tone.mean).toBe(4);
		expect(s.combined).toBe(4);
		expect(s.failed).toBe(1);
		expect(s.judged).toBe(1);
	});

	it('all failed: no criterion means, no combined score (left out of the metrics)', () => {
		const s = summarizeScores(rubric, [{ error: 'x' }, { error: 'y' }]);
		expect(s.combined).toBeNull();
		expect(s.failed).toBe(2);
		expect(scoreMetrics(s)).toEqual({});
	});

	it("the rubric's own combined weights", () => {
		const s = summarizeScores({ ...rubric, combined: { tone: 3, flow: 1 } }, [judged(4, 0)]);
		expect(s.combined).toBeCloseTo(3, 12);
	});

	it('metric names of a rubric', () => {
		expect(scoreMetricNames(rubric)).toEqual([
			'eval_tone_score',
			'eval_flow_score',
			'eval_combined_score'
		]);
	});
});

describe("the Trainer's best rule", () => {
	it('eval_ prefix as transformers normalises it', () => {
		expect(evalMetricName('combined_score')).toBe('eval_combined_score');
		expect(evalMetricName('eval_loss')).toBe('eval_loss');
		expect(evalMetricName('loss')).toBe('eval_loss');
	});

	it('greater_is_better: false only for names ending in "loss", unless set', () => {
		const rule = (m: string | null, g: boolean | null = null, best = false) =>
			bestMetricRule(
				args({ metric_for_best_model: m, greater_is_better: g, load_best_model_at_end: best })
			);
		expect(rule('combined_score')).toEqual({ key: 'eval_combined_score', greater: true });
		expect(rule('eval_loss')).toEqual({ key: 'eval_loss', greater: false });
		expect(rule('eval_tone_loss')).toEqual({ key: 'eval_tone_loss', greater: false });
		expect(rule('eval_loss', true)).toEqual({ key: 'eval_loss', greater: true });
		expect(rule(null)).toBeNull();
		expect(rule(null, null, true)).toEqual({ key: 'eval_loss', greater: false });
	});

	it('reads the value with or without the prefix; skips non-finite values', () => {
		const r = { key: 'eval_combined_score', greater: true };
		expect(metricValue(r, { eval_combined_score: 2 })).toBe(2);
		expect(metricValue(r, { combined_score: 3 })).toBe(3);
		expect(metricValue(r, { combined_score: NaN })).toBeUndefined();
		expect(metricValue(r, {})).toBeUndefined();
	});

	it('the best evaluation is the first of equal values', () => {
		const r = { key: 'eval_combined_score', greater: true };
		const evals = [
			{ step: 20, value: 1 },
			{ step: 40, value: 3 },
			{ step: 60, value: 3 },
			{ step: 80, value: 2 }
		];
		expect(bestEvaluation(r, evals)?.step).toBe(40);
		expect(bestEvaluation({ ...r, greater: false }, evals)?.step).toBe(20);
	});
});

describe('metric_for_best_model is checked before the run', () => {
	it("the seeds' preset needs a judge evaluation", () => {
		const run = () => checkBestMetric(SEED_PRESET.training, { evalSet: true });
		expect(run).toThrow(TrainingConfigError);
		expect(run).toThrow(/eval_combined_score.*produced: eval_loss.*judge evaluation/);
		try {
			run();
		} catch (e) {
			expect((e as TrainingConfigError).field).toBe('metric_for_best_model');
			expect((e as TrainingConfigError).rule).toBe('bestMetric');
		}
		expect(() =>
			checkBestMetric(SEED_PRESET.training, {
				evalSet: true,
				judgeMetrics: scoreMetricNames(rubric)
			})
		).not.toThrow();
	});

	it('eval_loss needs an eval split and evaluations', () => {
		const a = args({ metric_for_best_model: 'eval_loss' });
		expect(() => checkBestMetric(a, { evalSet: true })).not.toThrow();
		expect(() => checkBestMetric(a, { evalSet: false })).toThrow(/produced: none/);
		expect(() => checkBestMetric({ ...a, eval_strategy: 'no' }, { evalSet: true })).toThrow(
			/eval_loss/
		);
		expect(() =>
			checkBestMetric(args({ load_best_model_at_end: true }), { evalSet: false })
		).toThrow(/load_best_model_at_end needs eval_loss/);
	});

	it('a name no evaluation records, e.g. a criterion the rubric does not have', () => {
		expect(() =>
			checkBestMetric(args({ metric_for_best_model: 'style_score' }), {
				evalSet: true,
				judgeMetrics: scoreMetricNames(rubric)
			})
		).toThrow(/eval_style_score/);
		expect(() =>
			checkBestMetric(args({ metric_for_best_model: 'tone_score' }), {
				evalSet: true,
				judgeMetrics: scoreMetricNames(rubric)
			})
		).not.toThrow();
		// no best metric tracked: nothing to check
		expect(() => checkBestMetric(args({}), { evalSet: false })).not.toThrow();
	});
});

describe('checkpoint rotation', () => {
	it('save_total_limit keeps that many, the best among them, as the Trainer rotates', () => {
		// the best moves just before the newest; the oldest go
		expect(checkpointsToDelete([20, 40, 60, 80], 2, 20)).toEqual([40, 60]);
		expect(checkpointsToDelete([20, 40, 60, 80], 2, 80)).toEqual([20, 40]);
		expect(checkpointsToDelete([20, 40, 60, 80], 3, 40)).toEqual([20]);
		// a limit of 1 keeps the newest beside an older best (to resume from), only the best when newest
		expect(checkpointsToDelete([80, 20, 60, 40], 1, 40)).toEqual([20, 60]);
		expect(checkpointsToDelete([20, 40, 60, 80], 1, 80)).toEqual([20, 40, 60]);
		expect(checkpointsToDelete([20, 40], null, 20)).toEqual([]);
		expect(checkpointsToDelete([20, 40, 60], 2, null)).toEqual([20]);
	});
});

describe('overfitting', () => {
	const rule = { key: 'eval_combined_score', greater: true };
	const losses = (n: number, from = 3) =>
		Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: from - i * 0.01 }));

	it('the score fell for 3 evaluations while the loss kept dropping → the best step', () => {
		const evals = [
			{ step: 20, value: 2.0 },
			{ step: 40, value: 2.8 },
			{ step: 60, value: 2.6 },
			{ step: 80, value: 2.4 },
			{ step: 100, value: 2.1 }
		];
		expect(detectOverfitting(rule, evals, losses(100))).toEqual({
			bestStep: 40,
			bestValue: 2.8,
			falls: 3,
			lastStep: 100
		});
		// two falls are not enough with patience 3, enough with 2
		expect(detectOverfitting(rule, evals.slice(0, 4), losses(80))).toBeNull();
		expect(detectOverfitting(rule, evals.slice(0, 4), losses(80), 2)?.bestStep).toBe(40);
	});

	it('no notice while the score rises, or when the loss rose too', () => {
		const rising = [1, 2, 3, 4, 5].map((v, i) => ({ step: (i + 1) * 20, value: v }));
		expect(detectOverfitting(rule, rising, losses(100))).toBeNull();
		const falling = [3, 4, 3.5, 3, 2].map((v, i) => ({ step: (i + 1) * 20, value: v }));
		const lossRising = Array.from({ length: 100 }, (_, i) => ({ step: i + 1, loss: 1 + i * 0.01 }));
		expect(detectOverfitting(rule, falling, lossRising)).toBeNull();
	});

	it('for a loss (lower is better) the score "falls" when it rises', () => {
		const evalLoss = [2, 1, 1.2, 1.4, 1.6].map((v, i) => ({ step: (i + 1) * 10, value: v }));
		expect(
			detectOverfitting({ key: 'eval_loss', greater: false }, evalLoss, losses(50))?.bestStep
		).toBe(20);
	});
});

describe('load_best_model_at_end needs a checkpoint at every evaluation', () => {
	const plan = { evalSet: true };
	it('save_steps a multiple of eval_steps, same strategy, or save_strategy "best"', () => {
		const a = args({ load_best_model_at_end: true, eval_steps: 20, save_steps: 20 });
		expect(() => checkBestMetric(a, plan)).not.toThrow();
		expect(() => checkBestMetric({ ...a, save_steps: 40 }, plan)).not.toThrow();
		expect(() => checkBestMetric({ ...a, save_steps: 30 }, plan)).toThrow(
			/save_steps 30 must be a multiple of eval_steps 20/
		);
		expect(() => checkBestMetric({ ...a, save_strategy: 'epoch' }, plan)).toThrow(
			/save_strategy "epoch"/
		);
		expect(() =>
			checkBestMetric({ ...a, save_strategy: 'best', save_steps: 7 }, plan)
		).not.toThrow();
	});
});

describe('the fixed prompt set and the cost of evaluating', () => {
	const ex = (i: number) => ({
		messages: [
			{ role: 'user' as const, content: `q${i}` },
			{ role: 'model' as const, content: `a${i}` }
		]
	});
	it('a seeded pick of eval examples, each cut before its last model turn', () => {
		const split = Array.from({ length: 10 }, (_, i) => ex(i));
		const a = pickEvalPrompts(split, 4, 7);
		expect(a).toHaveLength(4);
		expect(pickEvalPrompts(split, 4, 7)).toEqual(a);
		expect(pickEvalPrompts(split, 4, 8)).not.toEqual(a);
		for (const p of a) {
			expect(p.messages).toHaveLength(1);
			expect(p.reference).toBe(p.messages[0].content.replace('q', 'a'));
		}
		expect(pickEvalPrompts(split, 50, 7)).toHaveLength(10);
		expect(() => pickEvalPrompts([], 2, 1)).toThrow(/no eval example/);
		expect(() => pickEvalPrompts(split, 0, 1)).toThrow(/prompts = 0/);
	});

	it('evaluations in a run and the tokens they add', () => {
		const a = args({ max_steps: 100, eval_steps: 20 });
		expect(evaluationsInRun(a, 10)).toBe(5);
		expect(evaluationsInRun({ ...a, eval_strategy: 'no' }, 10)).toBe(0);
		const cost = evaluationCost({
			prompts: 4,
			maxNewTokens: 64,
			criteria: 2,
			judgeTokens: 100,
			evaluations: 5,
			tokensPerSecond: 100
		});
		expect(cost).toEqual({ tokensGenerated: 1280, tokensJudged: 4000, seconds: 52.8 });
		expect(
			evaluationCost({
				...{ prompts: 1, maxNewTokens: 1, criteria: 1, judgeTokens: 1, evaluations: 1 },
				tokensPerSecond: 0
			}).seconds
		).toBeNull();
		// a remote judge's tokens take the server's time, not this device's
		expect(
			evaluationCost({
				...{ prompts: 4, maxNewTokens: 64, criteria: 2, judgeTokens: 100, evaluations: 5 },
				tokensPerSecond: 100,
				remoteJudge: true
			})
		).toEqual({ tokensGenerated: 1280, tokensJudged: 4000, seconds: 12.8 });
	});
});

describe("a run's scores for the Train page", () => {
	it('series per score, the best by the run rule, the overfitting notice', () => {
		const combined = [2.0, 2.8, 2.6, 2.4, 2.1];
		const metrics = [
			...Array.from({ length: 100 }, (_, i) => ({
				step: i + 1,
				epoch: 0,
				loss: 3 - i * 0.01,
				time: 0
			})),
			...combined.map((c, i) => ({
				step: (i + 1) * 20,
				epoch: 0,
				evalLoss: 1,
				scores: { eval_tone_score: c + 0.5, eval_flow_score: c - 0.5, eval_combined_score: c },
				time: 0
			}))
		].sort((a, b) => a.step - b.step);
		const s = runScores({ metrics, trainingArgs: { ...SEED_PRESET.training } as never });
		expect(s.rule).toEqual({ key: 'eval_combined_score', greater: true });
		expect(s.steps).toEqual([20, 40, 60, 80, 100]);
		expect(s.series.get('eval_combined_score')?.map((p) => p.y)).toEqual(combined);
		expect(s.best).toEqual({ step: 40, value: 2.8 });
		expect(s.overfitting?.bestStep).toBe(40);
		// the loss rule on the same run: no scores needed
		const byLoss = runScores({ metrics, trainingArgs: {} });
		expect(byLoss.rule.key).toBe('eval_loss');
		expect(byLoss.best?.step).toBe(20);
	});
});
