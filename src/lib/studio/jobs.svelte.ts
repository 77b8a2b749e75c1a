/**
 * The studio's long runs in this tab — a generation job and a judging run — as module state, so
 * they keep going while the user moves between pages (the engine worker is shared), and a page
 * that comes back shows the run in progress instead of offering to start a second one.
 *
 * What survives a reload is in the database: generated dialogues and the job (db.jobs) — resume
 * with `firstMissingDialogue` — and every judgment as soon as it is made.
 */
import { studioDb } from '../data/db';
import type { Character, Dialogue, Rubric } from '../data/types';
import { runGenerationJob, type GenerationJobSpec } from './generate';
import {
	DEFAULT_JUDGE_SAMPLING,
	judgeDialogueLocally,
	judgeDialogueRemotely,
	saveJudgment,
	type RemoteJudgeSettings
} from './judge';
import { WorkerModel, isAbortError, prepareTokenizer } from './worker-model';
import { describeError } from '../i18n/describe-error';

export const generation = $state({
	running: false,
	/** Stop after the dialogue in progress (the queue resumes from the next one). */
	pauseRequested: false,
	jobId: null as string | null,
	done: 0,
	total: 0,
	tokensPerSecond: 0,
	etaSeconds: null as number | null,
	/** The turn being written right now. */
	partial: '',
	error: null as string | null
});

let generationController: AbortController | null = null;

/** Runs (or resumes, from `startIndex`) a generation job; resolves when it ends for any reason. */
export async function runGeneration(spec: GenerationJobSpec, startIndex?: number): Promise<void> {
	if (generation.running) return;
	Object.assign(generation, {
		running: true,
		pauseRequested: false,
		jobId: spec.jobId,
		done: 0,
		total: spec.dialogues.length,
		tokensPerSecond: 0,
		etaSeconds: null,
		partial: '',
		error: null
	});
	const controller = new AbortController();
	generationController = controller;
	const engine = new WorkerModel((p) => {
		generation.partial = p.text;
		generation.tokensPerSecond = p.tokensPerSecond;
	});
	const started = performance.now();
	let doneThisRun = 0;
	try {
		await runGenerationJob(spec, engine, studioDb(), {
			signal: controller.signal,
			startIndex,
			onProgress: (p) => {
				generation.done = p.done;
				generation.total = p.total;
				if (!p.dialogue) return;
				doneThisRun++;
				generation.partial = '';
				generation.tokensPerSecond = engine.tokensPerSecond;
				const secondsPerDialogue = (performance.now() - started) / 1000 / doneThisRun;
				generation.etaSeconds = secondsPerDialogue * (p.total - p.done);
				// Pause: the dialogue just saved is complete and the next has not started.
				if (generation.pauseRequested) controller.abort();
			}
		});
	} catch (error) {
		if (!isAbortError(error)) generation.error = describeError(error);
	} finally {
		generation.running = false;
		generation.partial = '';
		generation.etaSeconds = null;
		if (engine.tokens) generation.tokensPerSecond = engine.tokensPerSecond;
		generationController = null;
	}
}

export function pauseGeneration(): void {
	generation.pauseRequested = true;
}

/** Stops at once; the dialogue being written is discarded (the job resumes from it). */
export function stopGeneration(): void {
	generation.pauseRequested = true;
	generationController?.abort();
}

export const judging = $state({
	running: false,
	rubricKey: null as string | null,
	done: 0,
	total: 0,
	failures: [] as { dialogueId: string; message: string }[],
	error: null as string | null
});

let judgingController: AbortController | null = null;

export interface JudgingRequest {
	rubric: Rubric;
	dialogues: Dialogue[];
	characters: Pick<Character, 'id' | 'name' | 'profile' | 'styleNotes'>[];
	judge:
		| { kind: 'local'; modelId: string; maxNewTokens: number }
		| { kind: 'remote'; settings: RemoteJudgeSettings };
}

/** Judges the dialogues one by one, saving each judgment as soon as it is made. */
export async function runJudging(request: JudgingRequest): Promise<void> {
	if (judging.running) return;
	const { rubric, judge } = request;
	Object.assign(judging, {
		running: true,
		rubricKey: rubric.key,
		done: 0,
		total: request.dialogues.length,
		failures: [],
		error: null
	});
	const controller = new AbortController();
	judgingController = controller;
	const signal = controller.signal;
	const db = studioDb();
	try {
		const engine = new WorkerModel();
		const digits = Array.from({ length: rubric.scale.max - rubric.scale.min + 1 }, (_, i) =>
			String(rubric.scale.min + i)
		);
		const tokenizer = judge.kind === 'local' ? await prepareTokenizer(digits) : null;
		for (const dialogue of request.dialogues) {
			signal.throwIfAborted();
			const c = request.characters.find((x) => x.id === dialogue.characterId);
			const character = {
				name: c?.name ?? '?',
				profile: c?.profile ?? '',
				styleNotes: c?.styleNotes ?? ''
			};
			try {
				const judgment =
					judge.kind === 'local'
						? await judgeDialogueLocally({
								rubric,
								character,
								dialogue,
								engine,
								tokenizer: tokenizer!,
								judge: { model: judge.modelId },
								sampling: { ...DEFAULT_JUDGE_SAMPLING, maxNewTokens: judge.maxNewTokens },
								signal
							})
						: await judgeDialogueRemotely({
								rubric,
								character,
								dialogue,
								settings: judge.settings,
								signal
							});
				await saveJudgment(db, judgment);
			} catch (error) {
				if (isAbortError(error)) throw error;
				// One dialogue failing (too long for the context, an unparsable reply) does not stop the rest.
				judging.failures.push({ dialogueId: dialogue.id, message: describeError(error) });
			}
			judging.done++;
		}
	} catch (error) {
		if (!isAbortError(error)) judging.error = describeError(error);
	} finally {
		judging.running = false;
		judgingController = null;
	}
}

export function stopJudging(): void {
	judgingController?.abort();
}
