/**
 * Judging dialogues with a rubric.
 *
 * Local judge (G-Eval style): for each criterion the judge model first writes its comment /
 * reasoning (generated text). Then, with that text as the start of its turn plus a newline, we read
 * the probabilities the model gives each allowed digit (scale.min … scale.max) as the next token; the
 * score is the expected value under those probabilities renormalized over the allowed digits. This
 * is steadier than the sampled digit and keeps the model's uncertainty (the distribution is stored).
 *
 * Remote judge: an OpenAI-compatible chat-completions endpoint; the score is parsed from the text
 * (`parseScoreFromText`). The API key travels in the Authorization header only and is never stored
 * in a judgment.
 *
 * A judgment records the rubric (id, key, version), the judge (local/remote, model, adapter,
 * endpoint, temperature) and, per criterion, the score and the digit distribution when known.
 */
import type { StudioDatabase } from '../data/db';
import { newId } from '../data/db';
import type {
	Character,
	ChatMessage,
	CriterionScore,
	Dialogue,
	JudgeRef,
	Judgment,
	Rubric,
	SamplingSettings
} from '../data/types';
import type { TextEngine } from './generate';
import { renderRubric } from './rubrics';

export class JudgeScoreError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'JudgeScoreError';
	}
}

export interface DigitScore {
	/** Expected value Σ p(d)·d over the allowed digits, after renormalizing. */
	score: number;
	/** Renormalized probability of each digit, scale.min … scale.max. */
	distribution: number[];
}

/**
 * The probability-weighted score from the model's next-token values for the digits
 * scale.min … scale.max (one value per digit, in that order). `kind` says whether the values are
 * probabilities (≥ 0, any total — they are renormalized) or log-probabilities (softmaxed).
 * Throws JudgeScoreError when a value is NaN, negative (probabilities), when the count does not
 * match the scale, or when the digits have no probability at all (nothing to renormalize).
 */
export function scoreFromDigitProbabilities(
	values: number[],
	scale: { min: number; max: number },
	kind: 'probabilities' | 'logprobs' = 'probabilities'
): DigitScore {
	const count = scale.max - scale.min + 1;
	if (values.length !== count)
		throw new JudgeScoreError(
			`expected ${count} values for digits ${scale.min}–${scale.max}, got ${values.length}`
		);
	values.forEach((v, i) => {
		if (Number.isNaN(v)) throw new JudgeScoreError(`the value for digit ${scale.min + i} is NaN`);
		if (kind === 'probabilities' && (v < 0 || v === Infinity))
			throw new JudgeScoreError(
				`the probability for digit ${scale.min + i} is ${v}; probabilities must be finite and ≥ 0`
			);
		if (kind === 'logprobs' && v === Infinity)
			throw new JudgeScoreError(`the log-probability for digit ${scale.min + i} is +Infinity`);
	});
	let weights: number[];
	if (kind === 'logprobs') {
		const top = Math.max(...values);
		if (top === -Infinity)
			throw new JudgeScoreError(
				`every allowed digit ${scale.min}–${scale.max} has log-probability -Infinity`
			);
		weights = values.map((v) => Math.exp(v - top));
	} else weights = values.slice();
	const total = weights.reduce((a, b) => a + b, 0);
	if (!(total > 0))
		throw new JudgeScoreError(
			`the model gave no probability to any allowed digit ${scale.min}–${scale.max}`
		);
	const distribution = weights.map((w) => w / total);
	const score = distribution.reduce((sum, p, i) => sum + p * (scale.min + i), 0);
	return { score, distribution };
}

export interface ParsedScore {
	score: number;
	/** The text without the score line (the judge's comment / reasoning). */
	comment: string;
}

/**
 * Reads a score from a judge's text, trying in order:
 * 1. a JSON object with a "score" field (anywhere in the text, code fences allowed);
 * 2. the last non-empty line when it is just a number (optionally bold, "3/4", "3点", "3.");
 * 3. the last "Score: 3" / "score = 3" / 「スコア：3」 / 「点数：3」 / 「評価：3」.
 * The score must lie in the rubric's scale. Throws JudgeScoreError naming what was found.
 */
export function parseScoreFromText(
	text: string,
	rubric: Pick<Rubric, 'scale' | 'key'>
): ParsedScore {
	const { min, max } = rubric.scale;
	const check = (value: number, from: string): number => {
		if (!Number.isFinite(value))
			throw new JudgeScoreError(`rubric ${rubric.key}: ${from} is not a number`);
		if (value < min || value > max)
			throw new JudgeScoreError(
				`rubric ${rubric.key}: score ${value} (${from}) is outside the scale ${min}–${max}`
			);
		return value;
	};
	const trimmed = text.replace(/\r\n/g, '\n').trim();
	if (trimmed === '')
		throw new JudgeScoreError(`rubric ${rubric.key}: the judge returned empty text`);

	// 1. JSON
	for (const match of trimmed.matchAll(/\{[^{}]*\}/g)) {
		let value: unknown;
		try {
			value = JSON.parse(match[0]);
		} catch {
			continue;
		}
		if (value && typeof value === 'object' && 'score' in value) {
			const obj = value as Record<string, unknown>;
			const score = check(Number(obj.score), `JSON "score": ${JSON.stringify(obj.score)}`);
			const fromJson = [obj.comment, obj.reasoning, obj.reason, obj.explanation].find(
				(v) => typeof v === 'string'
			) as string | undefined;
			const rest = trimmed
				.replace(match[0], '')
				.replace(/```(json)?/g, '')
				.trim();
			return { score, comment: (fromJson ?? rest).trim() };
		}
	}

	const lines = trimmed.split('\n');
	// 2. the last line alone (what the rubrics ask for) — before labels, so a "score 5" inside the
	// reasoning cannot win over the final line.
	const lastIndex = lines.map((l) => l.trim()).findLastIndex((l) => l !== '');
	const last = lines[lastIndex].trim();
	const alone = last.match(
		/^[*_#\s[(]*(\d+(?:\.\d+)?)\s*(?:\/\s*\d+|点|pts?|points?)?[\])*_.\s。]*$/i
	);
	if (alone) {
		const score = check(Number(alone[1]), `last line "${last}"`);
		return { score, comment: lines.slice(0, lastIndex).join('\n').trim() };
	}
	// 3. the last "Score: N" (English or Japanese label)
	const labelled = /(?:score|スコア|点数|評価|得点)\s*[:：=]?\s*\**\s*(\d+(?:\.\d+)?)/i;
	for (let i = lines.length - 1; i >= 0; i--) {
		const m = lines[i].match(labelled);
		if (m) {
			const score = check(Number(m[1]), `"${lines[i].trim()}"`);
			return {
				score,
				comment: lines
					.filter((_, j) => j !== i)
					.join('\n')
					.trim()
			};
		}
	}
	throw new JudgeScoreError(
		`rubric ${rubric.key}: no score found (no JSON "score", no "Score: N" line, and the last line ${JSON.stringify(last.slice(0, 80))} is not a number)`
	);
}

/** An engine that can tell the probability of given next tokens after a prompt. */
export interface NextTokenProbabilityEngine {
	/**
	 * Probabilities (not logits) of each of `tokenIds` as the next token after the chat `messages`
	 * rendered with the Gemma template, followed by `<start_of_turn>model\n` and `modelPrefix`.
	 */
	nextTokenProbabilities(
		input: { messages: ChatMessage[]; modelPrefix: string },
		tokenIds: number[],
		signal?: AbortSignal
	): Promise<number[]>;
}

export type LocalJudgeEngine = TextEngine & NextTokenProbabilityEngine;

/** Token ids of the digits min … max: each digit must encode to exactly one token. */
export function digitTokenIds(
	tokenizer: { encode(text: string): number[] },
	scale: { min: number; max: number }
): number[] {
	const ids: number[] = [];
	for (let d = scale.min; d <= scale.max; d++) {
		const encoded = tokenizer.encode(String(d));
		if (encoded.length !== 1)
			throw new Error(
				`digit "${d}" encodes to ${encoded.length} tokens (${encoded.join(', ')}); a local judge needs one token per digit`
			);
		ids.push(encoded[0]);
	}
	return ids;
}

/** Drops a trailing score line (a bare number or "Score: N") from generated judge text. */
export function stripScoreLine(text: string): string {
	const lines = text.replace(/\r\n/g, '\n').trimEnd().split('\n');
	const last = lines.at(-1)?.trim() ?? '';
	if (
		/^[*_\s]*(?:(?:score|スコア|点数|評価|得点)\s*[:：=]?\s*)?\**\s*\d+(?:\.\d+)?\s*(?:\/\s*\d+|点)?[*_.。\s]*$/i.test(
			last
		)
	)
		lines.pop();
	return lines.join('\n').trim();
}

export const DEFAULT_JUDGE_SAMPLING: SamplingSettings = {
	temperature: 0,
	topK: 1,
	topP: 1,
	repetitionPenalty: 1,
	maxNewTokens: 384
};

export interface JudgeDialogueInput {
	rubric: Rubric;
	character: Pick<Character, 'name' | 'profile' | 'styleNotes'>;
	dialogue: Pick<Dialogue, 'id' | 'turns'>;
	signal?: AbortSignal;
}

function joinComments(rubric: Rubric, comments: Record<string, string>): string {
	if (rubric.criteria.length === 1) return comments[rubric.criteria[0].key] ?? '';
	return rubric.criteria.map((c) => `[${c.key}] ${comments[c.key] ?? ''}`).join('\n\n');
}

/**
 * Judges one dialogue criterion by criterion: `ask` gets each criterion's rendered prompt and gives
 * its score and comment; the answers make one Judgment by `judge`.
 */
async function judgeByCriterion(
	input: JudgeDialogueInput,
	judge: JudgeRef,
	ask: (prompt: string) => Promise<{ score: CriterionScore; comment: string }>
): Promise<Judgment> {
	const scores: Record<string, CriterionScore> = {};
	const comments: Record<string, string> = {};
	for (const criterion of input.rubric.criteria) {
		input.signal?.throwIfAborted();
		const prompt = renderRubric(input.rubric, {
			character: input.character,
			dialogue: input.dialogue,
			criterion
		});
		const answer = await ask(prompt);
		scores[criterion.key] = answer.score;
		comments[criterion.key] = answer.comment;
	}
	return {
		id: newId(),
		dialogueId: input.dialogue.id,
		rubricId: input.rubric.id,
		rubricKey: input.rubric.key,
		rubricVersion: input.rubric.version,
		judge,
		scores,
		comment: joinComments(input.rubric, comments),
		createdAt: Date.now()
	};
}

/** Judges one dialogue with the local model, criterion by criterion (see the file comment). */
export async function judgeDialogueLocally(
	input: JudgeDialogueInput & {
		engine: LocalJudgeEngine;
		tokenizer: { encode(text: string): number[] };
		judge: Omit<JudgeRef, 'kind'>;
		sampling?: SamplingSettings;
		seed?: number;
	}
): Promise<Judgment> {
	const { rubric } = input;
	const sampling = input.sampling ?? DEFAULT_JUDGE_SAMPLING;
	const ids = digitTokenIds(input.tokenizer, rubric.scale);
	const judge: JudgeRef = { ...input.judge, kind: 'local', temperature: sampling.temperature };
	return judgeByCriterion(input, judge, async (prompt) => {
		const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
		const generated = await input.engine.generate(
			{ messages },
			{ ...sampling, seed: input.seed ?? 0 },
			input.signal
		);
		const comment = stripScoreLine(generated.text);
		const probabilities = await input.engine.nextTokenProbabilities(
			{ messages, modelPrefix: comment ? `${comment}\n` : '' },
			ids,
			input.signal
		);
		const { score, distribution } = scoreFromDigitProbabilities(
			probabilities,
			rubric.scale,
			'probabilities'
		);
		return { score: { score, distribution }, comment };
	});
}

export interface RemoteJudgeSettings {
	/** Base URL, e.g. https://api.openai.com or http://localhost:11434 (with or without a trailing /v1). */
	endpoint: string;
	apiKey?: string;
	model: string;
	temperature?: number;
	/** Injected in tests; defaults to globalThis.fetch. */
	fetch?: typeof fetch;
}

export function chatCompletionsUrl(endpoint: string): string {
	const base = endpoint.trim().replace(/\/+$/, '');
	if (!/^https?:\/\//i.test(base))
		throw new Error(
			`remote judge endpoint must start with http:// or https://, got ${JSON.stringify(endpoint)}`
		);
	return base.endsWith('/v1') ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
}

/** One OpenAI-compatible chat completion; returns the first choice's text. Errors name the status. */
export async function requestChatCompletion(
	settings: RemoteJudgeSettings,
	messages: { role: 'system' | 'user' | 'assistant'; content: string }[],
	signal?: AbortSignal
): Promise<string> {
	const url = chatCompletionsUrl(settings.endpoint);
	const doFetch = settings.fetch ?? globalThis.fetch;
	const headers: Record<string, string> = { 'Content-Type': 'application/json' };
	if (settings.apiKey) headers.Authorization = `Bearer ${settings.apiKey}`;
	let response: Response;
	try {
		response = await doFetch(url, {
			method: 'POST',
			headers,
			body: JSON.stringify({
				model: settings.model,
				messages,
				temperature: settings.temperature ?? 0
			}),
			signal
		});
	} catch (error) {
		if ((error as Error).name === 'AbortError') throw error;
		throw new Error(
			`remote judge ${url}: request failed (${(error as Error).message}); check the address and that the server allows this origin (CORS)`
		);
	}
	const body = await response.text();
	if (!response.ok)
		throw new Error(
			`remote judge ${url}: HTTP ${response.status} ${response.statusText}: ${body.slice(0, 300)}`
		);
	let json: { choices?: { message?: { content?: unknown } }[] };
	try {
		json = JSON.parse(body);
	} catch {
		throw new Error(`remote judge ${url}: the response is not JSON: ${body.slice(0, 200)}`);
	}
	const content = json.choices?.[0]?.message?.content;
	if (typeof content !== 'string')
		throw new Error(
			`remote judge ${url}: no choices[0].message.content in the response: ${body.slice(0, 200)}`
		);
	return content;
}

/** Judges one dialogue with a remote OpenAI-compatible model, criterion by criterion. */
export async function judgeDialogueRemotely(
	input: JudgeDialogueInput & { settings: RemoteJudgeSettings }
): Promise<Judgment> {
	const { rubric, settings } = input;
	const judge: JudgeRef = {
		kind: 'remote',
		model: settings.model,
		endpoint: settings.endpoint,
		temperature: settings.temperature ?? 0
	};
	return judgeByCriterion(input, judge, async (prompt) => {
		const text = await requestChatCompletion(
			settings,
			[{ role: 'user', content: prompt }],
			input.signal
		);
		const parsed = parseScoreFromText(text, rubric);
		return { score: { score: parsed.score }, comment: parsed.comment };
	});
}

export async function saveJudgment(db: StudioDatabase, judgment: Judgment): Promise<void> {
	await db.judgments.put(judgment);
}
