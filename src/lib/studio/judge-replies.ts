/**
 * Replies to a fixed prompt set judged with a rubric, and adapters compared by those scores
 * (issue 14). Over the small engine interfaces (TextEngine + NextTokenProbabilityEngine), so the
 * same code runs in the training worker (the trainer's metric hook) and on the Adapters page.
 *
 * `generateWith` puts the model in the state that replies (an adapter on); `judgeWith` in the state
 * that judges (the adapter off: the base model judges, as in the seeds' workflow), or, with
 * `remote`, an OpenAI-compatible server judges (the local model only replies). Reply i is
 * sampled with seed + i, so the same seed gives the same draws for every variant and evaluation.
 * A failed judgment keeps its error and counts as failed (judge-scores.ts), never as a zero.
 */
import type {
	Character,
	ChatMessage,
	JudgeRef,
	Judgment,
	Rubric,
	SamplingSettings
} from '../data/types';
import type { EvalPrompt } from './eval-prompts';
import {
	DEFAULT_JUDGE_SAMPLING,
	judgeDialogueLocally,
	judgeDialogueRemotely,
	type LocalJudgeEngine,
	type RemoteJudgeSettings
} from './judge';
import { summarizeScores, type JudgedReply, type ScoreSummary } from './judge-scores';

export interface JudgedPrompt {
	prompt: ChatMessage[];
	reference: string;
	reply: string;
	judgment?: Judgment;
	error?: string;
}

export interface JudgeRepliesInput {
	prompts: EvalPrompt[];
	engine: LocalJudgeEngine;
	tokenizer: { encode(text: string): number[] };
	rubric: Rubric;
	character: Pick<Character, 'name' | 'profile' | 'styleNotes'>;
	/** Sampling of the replies (its maxNewTokens: each reply's budget). */
	sampling: SamplingSettings;
	/** Token budget of the judge's comment per criterion. */
	judgeTokens?: number;
	seed: number;
	judge: Omit<JudgeRef, 'kind'>;
	/** Judge with this OpenAI-compatible server instead of the local model (judgeWith not called). */
	remote?: RemoteJudgeSettings;
	generateWith: () => void | Promise<void>;
	judgeWith: () => void | Promise<void>;
	/** Ids for the judgments' dialogueId, by prompt index (default: "reply-<index>"). */
	replyId?: (index: number) => string;
	onProgress?: (done: number, total: number) => void;
	signal?: AbortSignal;
}

/** Every prompt's reply, then every reply's judgment (two switches of the model, not 2n). */
export async function judgeReplies(o: JudgeRepliesInput): Promise<JudgedPrompt[]> {
	const total = o.prompts.length * 2;
	o.onProgress?.(0, total);
	await o.generateWith();
	const out: JudgedPrompt[] = [];
	for (const [i, p] of o.prompts.entries()) {
		const { text } = await o.engine.generate(
			{ messages: p.messages },
			{ ...o.sampling, seed: (o.seed + i) >>> 0 },
			o.signal
		);
		out.push({ prompt: p.messages, reference: p.reference, reply: text });
		o.onProgress?.(i + 1, total);
	}
	if (!o.remote) await o.judgeWith();
	for (const [i, r] of out.entries()) {
		const input = {
			rubric: o.rubric,
			character: o.character,
			dialogue: {
				id: o.replyId?.(i) ?? `reply-${i}`,
				turns: [...r.prompt, { role: 'model' as const, content: r.reply }]
			},
			signal: o.signal
		};
		try {
			r.judgment = o.remote
				? await judgeDialogueRemotely({ ...input, settings: o.remote })
				: await judgeDialogueLocally({
						...input,
						engine: o.engine,
						tokenizer: o.tokenizer,
						judge: o.judge,
						sampling: {
							...DEFAULT_JUDGE_SAMPLING,
							maxNewTokens: o.judgeTokens ?? DEFAULT_JUDGE_SAMPLING.maxNewTokens
						},
						seed: o.seed
					});
		} catch (e) {
			if ((e as Error).name === 'AbortError') throw e;
			r.error = e instanceof Error ? e.message : String(e);
		}
		o.onProgress?.(out.length + i + 1, total);
	}
	return out;
}

/** What a reply counts as in the scores. */
export function judgedReply(r: Pick<JudgedPrompt, 'judgment' | 'error'>): JudgedReply {
	return r.judgment ?? { error: r.error ?? 'not judged' };
}

export interface ComparedVariant {
	/** Adapter id; null: the base model. */
	adapterId: string | null;
	name: string;
	replies: JudgedPrompt[];
	summary: ScoreSummary;
}

export interface ScoreComparison {
	rubric: { id: string; key: string; version: number };
	seed: number;
	sampling: SamplingSettings;
	/** Token budget of the judge's comment per criterion. */
	judgeTokens: number;
	variants: ComparedVariant[];
	/** Index of the variant with the highest combined score (null: none has one). */
	winner: number | null;
	createdAt: number;
}

/**
 * Scores each variant (the base model and adapters) on the same prompts with the same judge, seed
 * and sampling. `useAdapter(id)` applies an adapter (null: none); the base model judges.
 */
export async function compareByScore(
	o: Omit<JudgeRepliesInput, 'generateWith' | 'judgeWith'> & {
		variants: { adapterId: string | null; name: string }[];
		useAdapter: (adapterId: string | null) => Promise<void>;
	}
): Promise<ScoreComparison> {
	const variants: ComparedVariant[] = [];
	for (const v of o.variants) {
		const replies = await judgeReplies({
			...o,
			generateWith: () => o.useAdapter(v.adapterId),
			judgeWith: () => o.useAdapter(null)
		});
		variants.push({ ...v, replies, summary: summarizeScores(o.rubric, replies.map(judgedReply)) });
	}
	let winner: number | null = null;
	variants.forEach((v, i) => {
		const c = v.summary.combined;
		if (c !== null && (winner === null || c > variants[winner].summary.combined!)) winner = i;
	});
	return {
		rubric: { id: o.rubric.id, key: o.rubric.key, version: o.rubric.version },
		seed: o.seed,
		sampling: o.sampling,
		judgeTokens: o.judgeTokens ?? DEFAULT_JUDGE_SAMPLING.maxNewTokens,
		variants,
		winner,
		createdAt: Date.now()
	};
}

const csvCell = (v: string | number) => {
	const s = String(v);
	return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The comparison's table as CSV: one row per variant and criterion (every criterion any variant
 * was scored on, empty where this one has no score), then its combined score.
 */
export function comparisonCsv(c: ScoreComparison): string {
	const rows: (string | number)[][] = [
		['variant', 'adapter_id', 'criterion', 'mean', 'spread', 'judged', 'failed', 'winner']
	];
	const keys = [...new Set(c.variants.flatMap((v) => Object.keys(v.summary.criteria)))];
	c.variants.forEach((v, i) => {
		const row = (criterion: string, mean: number | '', spread: number | '', judged: number) => [
			v.name,
			v.adapterId ?? '',
			criterion,
			mean,
			spread,
			judged,
			v.summary.failed,
			i === c.winner ? 'yes' : ''
		];
		for (const key of keys) {
			const s = v.summary.criteria[key];
			rows.push(row(key, s?.mean ?? '', s?.spread ?? '', s?.count ?? 0));
		}
		rows.push(row('combined', v.summary.combined ?? '', '', v.summary.judged));
	});
	return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** The whole comparison (settings, every reply and judgment, the table, the winner) as JSON. */
export function comparisonJson(c: ScoreComparison): string {
	return JSON.stringify({ format: 'mondo-score-comparison', version: 1, ...c }, null, 2) + '\n';
}
