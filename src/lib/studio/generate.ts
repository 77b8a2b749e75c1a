/**
 * AI × AI dialogue generation: one model plays the character, the same (or another) model plays a
 * user persona; the character opens with a fixed question.
 *
 * Prompt layout, PROMPT_VERSION 'dialogue-v1' (Gemma has no system role and its turns start with
 * user):
 *
 * Character side — what the character model sees before writing its k-th reply:
 *   user:  {character.prompt}\n\n{SCENE_LINE[language]}
 *   model: {opening question}
 *   user:  {persona reply 1}
 *   model: {character reply 1}
 *   …
 *   user:  {persona reply k}
 *   → generate model turn (character reply k)
 *
 * User side — the persona model sees the same dialogue with roles swapped:
 *   user:  {persona prompt}\n\n{opening question}
 *   model: {persona reply 1}
 *   user:  {character reply 1}
 *   …
 *   → generate model turn (persona reply k)
 * where the persona prompt is PERSONA_PROMPT[language] filled with the persona's name and
 * description and the character's name.
 *
 * One exchange = a persona reply followed by a character reply. The saved dialogue's turns are
 * [model: opening, user: reply 1, model: reply 1, …] (1 + 2 × exchanges turns).
 *
 * Seeds: the job seed gives each dialogue a seed `deriveSeed(jobSeed, index)`; each generated turn
 * uses `deriveSeed(dialogueSeed, turnIndex)` (turnIndex = position in the saved turns), so one
 * dialogue can be regenerated alone with its recorded settings.
 */
import type { StudioDatabase } from '../data/db';
import type {
	Character,
	ChatMessage,
	Dialogue,
	DialogueGeneration,
	DialogueTurn,
	Job,
	JobFailure,
	Language,
	ModelRef,
	OpeningQuestion,
	Persona,
	SamplingSettings
} from '../data/types';
import { deriveSeed } from './random';

export const PROMPT_VERSION = 'dialogue-v1';

export const SCENE_LINE: Record<Language, string> = {
	en: '(Someone has come to talk with you. Open the conversation.)',
	ja: '（ある人があなたと話しに来ました。会話を始めてください。）'
};

export const PERSONA_PROMPT: Record<Language, string> = {
	en: 'You are {name}: {description} You are talking with {character}. Reply as this person would, in one or two sentences. Write only your own words.',
	ja: 'あなたは{name}です。{description}今、{character}と話しています。この人物として、1〜2文で返答してください。自分の発言だけを書いてください。'
};

export interface GenerateRequest {
	messages: ChatMessage[];
	/** Informational: the character prompt already placed in the first user turn (for logs/engines). */
	characterPrompt?: string;
}

/** The minimal engine generation needs: a chat (Gemma template) in, one model turn out. */
export interface TextEngine {
	generate(
		prompt: GenerateRequest,
		sampling: SamplingSettings & { seed: number },
		signal?: AbortSignal
	): Promise<{ text: string; tokens: number }>;
}

export function personaPrompt(
	persona: Pick<Persona, 'name' | 'description'>,
	characterName: string,
	language: Language
): string {
	const description = persona.description.trim();
	const withStop =
		language === 'en' && !/[.!?]$/.test(description)
			? `${description}.`
			: language === 'ja' && !/[。！？]$/.test(description)
				? `${description}。`
				: description;
	return PERSONA_PROMPT[language]
		.replace('{name}', persona.name)
		.replace('{description}', withStop)
		.replace('{character}', characterName);
}

/** The character model's chat before its next reply (turns = the dialogue so far, ending on a user turn). */
export function characterSideMessages(
	character: Pick<Character, 'prompt' | 'language'>,
	turns: ChatMessage[]
): ChatMessage[] {
	return [
		{ role: 'user', content: `${character.prompt.trim()}\n\n${SCENE_LINE[character.language]}` },
		...turns.map((t) => ({ role: t.role, content: t.content }))
	];
}

/** The persona model's chat before its next reply (turns = the dialogue so far, ending on a model turn). */
export function userSideMessages(
	persona: Pick<Persona, 'name' | 'description'>,
	character: Pick<Character, 'name' | 'language'>,
	turns: ChatMessage[]
): ChatMessage[] {
	const swapped = turns.map((t): ChatMessage => ({
		role: t.role === 'model' ? 'user' : 'model',
		content: t.content
	}));
	if (swapped.length === 0 || swapped[0].role !== 'user')
		throw new Error("the dialogue must open with the character's question");
	swapped[0] = {
		role: 'user',
		content: `${personaPrompt(persona, character.name, character.language)}\n\n${swapped[0].content}`
	};
	return swapped;
}

/** Cleans a generated turn: trims, and cuts a leaked next-turn marker or speaker label. */
export function cleanGeneratedTurn(text: string): string {
	let t = text.split(/<end_of_turn>|<start_of_turn>/)[0];
	t = t.replace(/^\s*(model|user|assistant)\s*\n/i, '');
	return t.trim();
}

export interface DialogueGenerationSettings {
	model: ModelRef;
	characterSampling: SamplingSettings;
	userSampling: SamplingSettings;
	exchanges: number;
}

export interface DialogueSpec {
	/** Position in the job (0-based); the saved dialogue's id is `${jobId}:${index}`. */
	index: number;
	characterId: string;
	personaId: string;
	questionId: string;
	userTemperature: number;
	seed: number;
}

export interface GenerationJobSpec extends DialogueGenerationSettings {
	jobId: string;
	seed: number;
	dialogues: DialogueSpec[];
}

/**
 * Every combination characters × personas × questions × userTemperatures, in that nesting order,
 * keeping only personas and questions in the character's language and questions that belong to the
 * character (or to no character). Each gets `deriveSeed(seed, index)`.
 */
export function planGenerationJob(input: {
	characters: Pick<Character, 'id' | 'language'>[];
	personas: Pick<Persona, 'id' | 'language'>[];
	questions: Pick<OpeningQuestion, 'id' | 'language' | 'characterId'>[];
	userTemperatures: number[];
	seed: number;
}): DialogueSpec[] {
	if (input.userTemperatures.length === 0)
		throw new Error('userTemperatures: give at least one temperature (the seeds used 0.3 and 0.7)');
	const specs: DialogueSpec[] = [];
	for (const character of input.characters) {
		const personas = input.personas.filter((p) => p.language === character.language);
		const questions = input.questions.filter(
			(q) =>
				q.language === character.language &&
				(q.characterId === undefined || q.characterId === character.id)
		);
		for (const persona of personas)
			for (const question of questions)
				for (const userTemperature of input.userTemperatures) {
					const index = specs.length;
					specs.push({
						index,
						characterId: character.id,
						personaId: persona.id,
						questionId: question.id,
						userTemperature,
						seed: deriveSeed(input.seed, index)
					});
				}
	}
	return specs;
}

export function dialogueIdFor(jobId: string, index: number): string {
	return `${jobId}:${index}`;
}

/** Generates one dialogue (not saved). Pure over the engine: same inputs and engine, same dialogue. */
export async function generateDialogue(input: {
	character: Character;
	persona: Persona;
	question: OpeningQuestion;
	settings: DialogueGenerationSettings;
	userTemperature: number;
	seed: number;
	engine: TextEngine;
	id: string;
	jobId?: string;
	signal?: AbortSignal;
}): Promise<Dialogue> {
	const { character, persona, question, settings, engine, signal } = input;
	const userSampling: SamplingSettings = {
		...settings.userSampling,
		temperature: input.userTemperature
	};
	const turns: DialogueTurn[] = [{ role: 'model', content: question.text }];
	let stoppedEarly: DialogueGeneration['stoppedEarly'];
	for (let exchange = 0; exchange < settings.exchanges; exchange++) {
		signal?.throwIfAborted();
		try {
			const userReply = await engine.generate(
				{ messages: userSideMessages(persona, character, turns) },
				{ ...userSampling, seed: deriveSeed(input.seed, turns.length) },
				signal
			);
			turns.push({ role: 'user', content: cleanGeneratedTurn(userReply.text) });
			signal?.throwIfAborted();
			const characterReply = await engine.generate(
				{ messages: characterSideMessages(character, turns), characterPrompt: character.prompt },
				{ ...settings.characterSampling, seed: deriveSeed(input.seed, turns.length) },
				signal
			);
			turns.push({ role: 'model', content: cleanGeneratedTurn(characterReply.text) });
		} catch (error) {
			const limit = contextOverflowLimit(error);
			// The dialogue outgrew the context: keep the exchanges already written (a dialogue ends
			// on the character's turn); with none written there is nothing to keep.
			if (limit === null || exchange === 0) throw error;
			turns.length = 1 + 2 * exchange;
			stoppedEarly = { reason: 'context', exchanges: exchange, contextTokens: limit };
			break;
		}
	}
	const now = Date.now();
	return {
		id: input.id,
		characterId: character.id,
		personaId: persona.id,
		questionId: question.id,
		language: character.language,
		turns,
		origin: 'generated',
		generation: {
			...settings.model,
			characterSampling: { ...settings.characterSampling },
			userSampling,
			exchanges: settings.exchanges,
			seed: input.seed,
			promptVersion: PROMPT_VERSION,
			jobId: input.jobId,
			...(stoppedEarly ? { stoppedEarly } : {})
		},
		status: 'pending',
		createdAt: now,
		updatedAt: now
	};
}

/**
 * The context size (tokens) when `error` says a prompt does not fit the model's context, else null
 * (0 when the size is not given). The worker's typed error is matched by its code
 * ('context-overflow', params.limit) or name, and an error that is only a message by its wording.
 */
export function contextOverflowLimit(error: unknown): number | null {
	const e = error as
		| {
				name?: string;
				code?: string;
				message?: string;
				limit?: number;
				params?: { limit?: number };
		  }
		| undefined;
	const fromMessage = /context holds (\d+)/.exec(e?.message ?? '');
	const typed = e?.code === 'context-overflow' || e?.name === 'ContextOverflow';
	if (!typed && !fromMessage) return null;
	const limit = e?.params?.limit ?? e?.limit;
	return typeof limit === 'number' ? limit : fromMessage ? Number(fromMessage[1]) : 0;
}

/** A generation job that stopped on an error, with what the page needs to word it. */
export class GenerationJobError extends Error {
	constructor(
		readonly failure: JobFailure,
		/** The error that stopped the job (a typed session error keeps its code and parameters). */
		readonly original: unknown
	) {
		super((original as Error)?.message ?? String(original));
		this.name = 'GenerationJobError';
	}
}

export interface GenerationProgress {
	done: number;
	total: number;
	/** The dialogue just saved (absent for the initial report). */
	dialogue?: Dialogue;
}

/** Index of the first dialogue of the job not yet saved (spec.dialogues.length when all are). */
export async function firstMissingDialogue(
	db: StudioDatabase,
	spec: GenerationJobSpec
): Promise<number> {
	const existing = await db.dialogues.bulkGet(
		spec.dialogues.map((d) => dialogueIdFor(spec.jobId, d.index))
	);
	const missing = existing.findIndex((d) => d === undefined);
	return missing === -1 ? spec.dialogues.length : missing;
}

/**
 * Runs a generation job: each dialogue is saved as soon as it is complete (id `${jobId}:${index}`),
 * so a stopped job resumes from the first missing dialogue (or `startIndex` when given); dialogues
 * already saved are skipped, never regenerated. The job's progress is kept in the `jobs` table.
 * On abort the dialogue in progress is discarded and the AbortError is rethrown (job status 'paused').
 */
export async function runGenerationJob(
	spec: GenerationJobSpec,
	engine: TextEngine,
	db: StudioDatabase,
	options: {
		onProgress?: (progress: GenerationProgress) => void;
		signal?: AbortSignal;
		startIndex?: number;
	} = {}
): Promise<{ generated: number; skipped: number }> {
	const total = spec.dialogues.length;
	const start = options.startIndex ?? (await firstMissingDialogue(db, spec));
	const characters = new Map(
		(await db.characters.bulkGet([...new Set(spec.dialogues.map((d) => d.characterId))]))
			.filter(Boolean)
			.map((c) => [c!.id, c!])
	);
	const personas = new Map(
		(await db.personas.bulkGet([...new Set(spec.dialogues.map((d) => d.personaId))]))
			.filter(Boolean)
			.map((p) => [p!.id, p!])
	);
	const questions = new Map(
		(await db.openingQuestions.bulkGet([...new Set(spec.dialogues.map((d) => d.questionId))]))
			.filter(Boolean)
			.map((q) => [q!.id, q!])
	);
	const now = Date.now();
	const existingJob = await db.jobs.get(spec.jobId);
	const job: Job = existingJob ?? {
		id: spec.jobId,
		kind: 'generate',
		status: 'running',
		spec: spec as unknown as Record<string, unknown>,
		progress: { done: 0, total },
		createdAt: now,
		updatedAt: now
	};
	const saveJob = async (status: Job['status'], done: number, error?: string) => {
		job.status = status;
		job.progress = { done, total };
		job.updatedAt = Date.now();
		job.error = error;
		if (status !== 'failed') delete job.failure;
		await db.jobs.put(job);
	};
	let done = await db.dialogues.where('generation.jobId').equals(spec.jobId).count();
	await saveJob('running', done);
	options.onProgress?.({ done, total });
	let generated = 0;
	let skipped = 0;
	let i = start;
	try {
		for (; i < total; i++) {
			const d = spec.dialogues[i];
			const id = dialogueIdFor(spec.jobId, d.index);
			if (await db.dialogues.get(id)) {
				skipped++;
				continue;
			}
			const character = characters.get(d.characterId);
			const persona = personas.get(d.personaId);
			const question = questions.get(d.questionId);
			if (!character) throw new Error(`dialogue ${i}: character ${d.characterId} not found`);
			if (!persona) throw new Error(`dialogue ${i}: persona ${d.personaId} not found`);
			if (!question) throw new Error(`dialogue ${i}: opening question ${d.questionId} not found`);
			const dialogue = await generateDialogue({
				character,
				persona,
				question,
				settings: spec,
				userTemperature: d.userTemperature,
				seed: d.seed,
				engine,
				id,
				jobId: spec.jobId,
				signal: options.signal
			});
			await db.dialogues.add(dialogue);
			generated++;
			done++;
			await saveJob('running', done);
			options.onProgress?.({ done, total, dialogue });
		}
	} catch (error) {
		const aborted = (error as Error).name === 'AbortError' || options.signal?.aborted;
		if (aborted) {
			await saveJob('paused', done);
			throw error;
		}
		const limit = contextOverflowLimit(error);
		const failure: JobFailure = {
			code: limit === null ? 'stopped' : 'context',
			params: { index: i + 1, total, done, limit: limit ?? 0, message: (error as Error).message }
		};
		job.failure = failure;
		await saveJob('failed', done, (error as Error).message);
		throw new GenerationJobError(failure, error);
	}
	await saveJob(done >= total ? 'done' : 'paused', done);
	return { generated, skipped };
}
