/**
 * The judge evaluation of a training run (issue 14): the trainer's metric hook. At each
 * evaluation, between optimizer steps (training waits for it):
 *
 *   1. the engine gets a KV cache back (the training stack released it; the backward's
 *      activations stay, so this is the cache's size more for the evaluation's duration);
 *   2. with the adapter being trained hung on the engine, a reply to each of the run's fixed,
 *      seeded held-out prompts (same seed → same draws at every evaluation and after a resume);
 *   3. with the adapter switched off (`engine.lora = null`: the same base weights, no second
 *      copy), the local G-Eval judge scores every reply with the rubric, criterion by criterion
 *      (or the remote judge, an OpenAI-compatible server, when the run names one);
 *   4. the KV cache is released again and the adapter put back.
 *
 * A reply whose judging fails is stored with its error and counted as failed (never a zero).
 * `signal` (the run paused or stopped) aborts the evaluation between tokens: the hook rejects with
 * an AbortError, nothing is recorded, and the job re-runs this evaluation on resume.
 * Returns `eval_<criterion>_score` means and `eval_combined_score` (studio/judge-scores.ts).
 */
import type { Character, EvalReply, Rubric, SamplingSettings } from '../data/types';
import type { Tokenizer } from '../model/tokenizer';
import type { Gemma2Engine } from '../webgpu/gemma2/forward';
import { nextTokenProbabilities } from '../session/next-token';
import type { LocalJudgeEngine, RemoteJudgeSettings } from '../studio/judge';
import type { GenerateRequest } from '../studio/generate';
import type { EvalPrompt } from '../studio/eval-prompts';
import { scoreMetrics, summarizeScores } from '../studio/judge-scores';
import { judgedReply, judgeReplies, type JudgedPrompt } from '../studio/judge-replies';
import { newId } from '../data/db';

type EngineTokenizer = Pick<Tokenizer, 'encode' | 'encodeChat' | 'renderChat' | 'decode'>;

/** The local judge's engine interface straight over a Gemma2Engine (in the worker). */
export function engineTextModel(
	engine: Gemma2Engine,
	tokenizer: EngineTokenizer
): LocalJudgeEngine {
	const fits = (ids: number[]) => {
		if (ids.length >= engine.maxTokens)
			throw new Error(
				`the prompt is ${ids.length} tokens long; the engine holds ${engine.maxTokens}`
			);
	};
	return {
		async generate(
			prompt: GenerateRequest,
			s: SamplingSettings & { seed: number },
			signal?: AbortSignal
		) {
			signal?.throwIfAborted();
			const ids = tokenizer.encodeChat(prompt.messages, { addGenerationPrompt: true });
			fits(ids);
			const stopIds = engine.config.eosIds;
			const out: number[] = [];
			engine.reset();
			try {
				for await (const id of engine.generate(
					ids,
					{
						temperature: s.temperature,
						topK: s.topK,
						topP: s.topP,
						repetitionPenalty: s.repetitionPenalty
					},
					{
						maxNewTokens: Math.min(s.maxNewTokens, engine.maxTokens - ids.length),
						stopIds,
						seed: s.seed,
						penaltyIds: ids
					}
				)) {
					if (stopIds.includes(id)) break;
					out.push(id);
					signal?.throwIfAborted();
				}
			} finally {
				engine.reset();
			}
			return { text: tokenizer.decode(out, { skipSpecialTokens: true }), tokens: out.length };
		},
		async nextTokenProbabilities(input, tokenIds, signal) {
			signal?.throwIfAborted();
			const ids = tokenizer.encode(
				tokenizer.renderChat(input.messages, { addGenerationPrompt: true }) + input.modelPrefix
			);
			fits(ids);
			engine.reset();
			try {
				await engine.prefill(ids);
				return nextTokenProbabilities(await engine.lastLogits(), tokenIds);
			} finally {
				engine.reset();
			}
		}
	};
}

export interface JudgeMetricOptions {
	engine: Gemma2Engine;
	tokenizer: EngineTokenizer;
	rubric: Rubric;
	character: Pick<Character, 'name' | 'profile' | 'styleNotes'>;
	prompts: EvalPrompt[];
	sampling: SamplingSettings;
	/** Token budget of the judge's comment per criterion. */
	judgeTokens: number;
	seed: number;
	runId: string;
	/** The base model (the judge: the adapter is off while it judges). */
	modelId: string;
	/** Judge with this OpenAI-compatible server instead (the local model only replies). */
	remote?: RemoteJudgeSettings;
	/** Aborts the evaluation in progress (a pause or stop of the run): the hook rejects. */
	signal?: AbortSignal;
	/** Stores the evaluation's replies and judgments (before the metrics are recorded). */
	onReplies?: (replies: EvalReply[]) => Promise<void>;
	/** Progress: replies generated, then judged, of twice the prompt set. */
	onProgress?: (done: number, total: number) => void;
}

/** The trainer's `metric` hook for a judge evaluation (see the file comment). */
export function judgeMetric(
	o: JudgeMetricOptions
): (step: number) => Promise<Record<string, number>> {
	const model = engineTextModel(o.engine, o.tokenizer);
	return async (step) => {
		const { engine } = o;
		const adapter = engine.lora;
		const released = engine.kvCacheReleased;
		const ids = o.prompts.map(() => newId());
		engine.restoreKvCache();
		let judged: JudgedPrompt[];
		try {
			judged = await judgeReplies({
				...o,
				engine: model,
				tokenizer: { encode: (t) => o.tokenizer.encode(t) },
				judge: { model: o.modelId },
				generateWith: () => void (engine.lora = adapter),
				judgeWith: () => void (engine.lora = null),
				replyId: (i) => ids[i]
			});
		} finally {
			engine.lora = adapter;
			if (released) engine.releaseKvCache();
		}
		const now = Date.now();
		await o.onReplies?.(
			judged.map((r, index) => ({
				...r,
				id: ids[index],
				runId: o.runId,
				step,
				index,
				createdAt: now
			}))
		);
		return scoreMetrics(summarizeScores(o.rubric, judged.map(judgedReply)));
	};
}
