/**
 * The studio's long runs in this tab — a generation job and a judging run — as module state, so
 * they keep going while the user moves between pages (the engine worker is shared), and a page
 * that comes back shows the run in progress instead of offering to start a second one.
 *
 * Starting is idempotent: `startGeneration`, `resumeGeneration` and `runJudging` claim their run
 * synchronously, before anything is awaited, so a double click (or a second tab of the same page)
 * starts one run, not two.
 *
 * What survives a reload is in the database: generated dialogues and the job (db.jobs) — resume
 * with `firstMissingDialogue` — and every judgment as soon as it is made.
 */
import { studioDb } from '../data/db';
import type { Character, Dialogue, Job, JobFailure, Persona, Rubric } from '../data/types';
import {
	GenerationJobError,
	contextOverflowLimit,
	firstMissingDialogue,
	runGenerationJob,
	type GenerationJobSpec
} from './generate';
import { generationJobSpec, saveGenerationForm, type GenerationChoice } from './generate-form';
import {
	DEFAULT_JUDGE_SAMPLING,
	judgeDialogueLocally,
	judgeDialogueRemotely,
	saveJudgment,
	type RemoteJudgeSettings
} from './judge';
import { dialogueTitle } from './labels';
import { WorkerModel, isAbortError, prepareTokenizer } from './worker-model';
import { describeError } from '../i18n/describe-error';

/** Seconds left at the pace so far (null until one item is done). */
export function etaSeconds(startedAt: number, doneThisRun: number, left: number): number | null {
	if (doneThisRun === 0) return null;
	return ((performance.now() - startedAt) / 1000 / doneThisRun) * left;
}

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
	failure: null as JobFailure | null
});

let generationController: AbortController | null = null;

/** Claims the generation slot (synchronously); false when a run already holds it. */
function claimGeneration(jobId: string | null): boolean {
	if (generation.running) return false;
	Object.assign(generation, {
		running: true,
		pauseRequested: false,
		jobId,
		done: 0,
		total: 0,
		tokensPerSecond: 0,
		etaSeconds: null,
		partial: '',
		failure: null
	});
	return true;
}

function failureOf(error: unknown): JobFailure {
	if (error instanceof GenerationJobError)
		return {
			...error.failure,
			params: { ...error.failure.params, message: describeError(error.original) }
		};
	return {
		code: 'stopped',
		params: { index: 0, total: 0, done: 0, limit: 0, message: describeError(error) }
	};
}

/** Starts the job the form describes (checked first; the form is remembered). */
export async function startGeneration(choice: GenerationChoice, modelId: string): Promise<void> {
	if (!claimGeneration(null)) return;
	let spec: GenerationJobSpec;
	try {
		spec = generationJobSpec(choice, modelId);
		await saveGenerationForm(studioDb(), choice.form);
	} catch (error) {
		generation.failure = failureOf(error);
		generation.running = false;
		return;
	}
	await runClaimed(spec);
}

/** Resumes a paused, failed or interrupted job from its first missing dialogue. */
export async function resumeGeneration(job: Job): Promise<void> {
	if (!claimGeneration(job.id)) return;
	// A plain copy: what a live query gives is Svelte state, which IndexedDB cannot clone.
	const spec = $state.snapshot(job.spec) as unknown as GenerationJobSpec;
	await runClaimed(spec, await firstMissingDialogue(studioDb(), spec));
}

/** Runs (or resumes, from `startIndex`) a claimed generation job; resolves when it ends. */
async function runClaimed(spec: GenerationJobSpec, startIndex?: number): Promise<void> {
	Object.assign(generation, { jobId: spec.jobId, total: spec.dialogues.length });
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
				generation.etaSeconds = etaSeconds(started, doneThisRun, p.total - p.done);
				// Pause: the dialogue just saved is complete and the next has not started.
				if (generation.pauseRequested) controller.abort();
			}
		});
	} catch (error) {
		if (!isAbortError(error)) generation.failure = failureOf(error);
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

export interface JudgingFailure {
	dialogueId: string;
	/** The dialogue as a person knows it (character × persona · opening). */
	title: string;
	/** The context size when the prompt did not fit it; otherwise null and `message` says why. */
	contextTokens: number | null;
	message: string;
}

export const judging = $state({
	running: false,
	rubricKey: null as string | null,
	rubricName: null as string | null,
	/** Dialogues handled so far: judged + failed. */
	done: 0,
	judged: 0,
	failed: 0,
	total: 0,
	etaSeconds: null as number | null,
	failures: [] as JudgingFailure[],
	error: null as string | null
});

let judgingController: AbortController | null = null;

export interface JudgingRequest {
	rubric: Rubric;
	dialogues: Dialogue[];
	characters: Pick<Character, 'id' | 'name' | 'profile' | 'styleNotes'>[];
	personas: Pick<Persona, 'id' | 'name'>[];
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
		rubricName: rubric.name,
		done: 0,
		judged: 0,
		failed: 0,
		total: request.dialogues.length,
		etaSeconds: null,
		failures: [],
		error: null
	});
	const controller = new AbortController();
	judgingController = controller;
	const signal = controller.signal;
	const db = studioDb();
	const started = performance.now();
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
				judging.judged++;
			} catch (error) {
				if (isAbortError(error)) throw error;
				// One dialogue failing (too long for the context, an unparsable reply) does not stop the rest.
				judging.failed++;
				judging.failures.push({
					dialogueId: dialogue.id,
					title: dialogueTitle(dialogue, request.characters, request.personas),
					contextTokens: contextOverflowLimit(error),
					message: describeError(error)
				});
			}
			judging.done++;
			judging.etaSeconds = etaSeconds(started, judging.done, judging.total - judging.done);
		}
	} catch (error) {
		if (!isAbortError(error)) judging.error = describeError(error);
	} finally {
		judging.running = false;
		judging.etaSeconds = null;
		judgingController = null;
	}
}

export function stopJudging(): void {
	judgingController?.abort();
}
