/**
 * The fixed prompt set of a run's judge evaluation, and what evaluating costs. Pure.
 *
 * Prompts: a seeded pick of `count` examples of the dataset's eval split (held out from training);
 * each prompt is the example's conversation up to its last model turn, whose text is kept as the
 * reference reply. The same seed gives the same prompts at every evaluation, after a resume and in
 * a comparison of adapters.
 */
import type { ChatMessage, TrainingExample } from '../data/types';
import type { TrainingArguments } from '../lora/config';
import { resolveInterval, trainingPlan } from '../lora/schedule';
import { seededShuffle } from './random';
import type { FieldLimit } from './sampling';

/** How many held-out prompts an evaluation replies to. */
export const EVAL_PROMPTS_LIMIT: FieldLimit = { min: 1, max: 64, step: 1, integer: true };
/** The token budget of each evaluation reply. */
export const EVAL_REPLY_TOKENS_LIMIT: FieldLimit = { min: 1, max: 1024, step: 1, integer: true };
/** The seed that picks the prompts (and samples the replies). */
export const EVAL_SEED_LIMIT: FieldLimit = { min: 0, max: 2 ** 31 - 1, step: 1, integer: true };

export interface EvalPrompt {
	messages: ChatMessage[];
	reference: string;
}

/** Splits an example at its last model turn; null when it has none (or nothing before it). */
function promptOf(example: TrainingExample): EvalPrompt | null {
	const last = example.messages.findLastIndex((m) => m.role === 'model');
	if (last < 1) return null;
	return { messages: example.messages.slice(0, last), reference: example.messages[last].content };
}

/** `count` prompts of the eval split, in a seeded order (fewer when the split has fewer). */
export function pickEvalPrompts(
	evalSplit: TrainingExample[],
	count: number,
	seed: number
): EvalPrompt[] {
	if (!Number.isInteger(count) || count < 1)
		throw new Error(`judge evaluation: prompts = ${count}: must be a whole number ≥ 1`);
	const usable = evalSplit.map(promptOf).filter((p): p is EvalPrompt => p !== null);
	if (!usable.length)
		throw new Error(
			'judge evaluation: the dataset has no eval example with a model turn to reply to'
		);
	return seededShuffle(usable, seed).slice(0, count);
}

export interface EvaluationCostInput {
	prompts: number;
	/** Token budget of each reply. */
	maxNewTokens: number;
	criteria: number;
	/** Token budget of the judge's comment per criterion (DEFAULT_JUDGE_SAMPLING: 384). */
	judgeTokens: number;
	/** Evaluations in the run (evaluationsInRun). */
	evaluations: number;
	/** Measured generation speed, tokens per second (chat/reply-speed.ts; 0 or null: unknown). */
	tokensPerSecond: number | null;
	/** A remote server judges: its tokens cost no time here (and its speed is not measured). */
	remoteJudge?: boolean;
}

export interface EvaluationCost {
	/** At most: every reply uses its whole budget. */
	tokensGenerated: number;
	tokensJudged: number;
	/** At the measured speed: the replies, and the judge's comments when judged here; null when no speed is measured yet. */
	seconds: number | null;
}

/** What judge evaluation adds to a run, at most (replies and comments that use their budget). */
export function evaluationCost(c: EvaluationCostInput): EvaluationCost {
	const tokensGenerated = c.evaluations * c.prompts * c.maxNewTokens;
	const tokensJudged = c.evaluations * c.prompts * c.criteria * c.judgeTokens;
	const here = tokensGenerated + (c.remoteJudge ? 0 : tokensJudged);
	const seconds = c.tokensPerSecond && c.tokensPerSecond > 0 ? here / c.tokensPerSecond : null;
	return { tokensGenerated, tokensJudged, seconds };
}

/** How many evaluations a run makes (eval_strategy 'steps': every eval_steps; 'epoch': per epoch). */
export function evaluationsInRun(args: TrainingArguments, numExamples: number): number {
	if (args.eval_strategy === 'no' || numExamples < 1) return 0;
	const plan = trainingPlan(args, numExamples);
	if (args.eval_strategy === 'epoch') return Math.floor(plan.totalSteps / plan.updatesPerEpoch);
	const every = resolveInterval(args.eval_steps ?? args.logging_steps, plan.totalSteps);
	return Math.floor(plan.totalSteps / every);
}
