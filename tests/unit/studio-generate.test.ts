import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { ChatMessage, SamplingSettings } from '../../src/lib/data/types';
import { curatedId, seedCuratedContent } from '../../src/lib/studio/curated';
import {
	PROMPT_VERSION,
	SCENE_LINE,
	GenerationJobError,
	characterSideMessages,
	cleanGeneratedTurn,
	contextOverflowLimit,
	dialogueIdFor,
	planGenerationJob,
	runGenerationJob,
	userSideMessages,
	type GenerationJobSpec,
	type TextEngine
} from '../../src/lib/studio/generate';
import { deriveSeed } from '../../src/lib/studio/random';

const sampling: SamplingSettings = {
	temperature: 0.7,
	topK: 40,
	topP: 0.95,
	repetitionPenalty: 1.1,
	maxNewTokens: 96
};

/** Deterministic fake: the reply names the side (from the first turn), the turn count and the seed. */
function fakeEngine(
	log: { messages: ChatMessage[]; seed: number; temperature: number }[] = []
): TextEngine {
	return {
		async generate(prompt, s) {
			log.push({ messages: prompt.messages, seed: s.seed, temperature: s.temperature });
			const side = prompt.characterPrompt ? 'character' : 'persona';
			return {
				text: `${side} reply ${prompt.messages.length} (seed ${s.seed})<end_of_turn>`,
				tokens: 5
			};
		}
	};
}

describe('dialogue prompt layout', () => {
	const character = { name: 'Socrates', language: 'en' as const, prompt: 'You are Socrates.' };
	const persona = { name: 'Kenji, office worker', description: 'a tired sales clerk' };
	const turns: ChatMessage[] = [
		{ role: 'model', content: 'What is justice?' },
		{ role: 'user', content: 'Fairness.' },
		{ role: 'model', content: 'Fair to whom?' },
		{ role: 'user', content: 'To everyone.' }
	];

	it('gives the character its prompt and a scene line as the first user turn, then the dialogue as is', () => {
		expect(characterSideMessages(character, turns)).toEqual([
			{ role: 'user', content: `You are Socrates.\n\n${SCENE_LINE.en}` },
			...turns
		]);
	});

	it('gives the persona side the roles swapped, its prompt before the opening question', () => {
		const messages = userSideMessages(persona, character, turns.slice(0, 3));
		expect(messages.map((m) => m.role)).toEqual(['user', 'model', 'user']);
		expect(messages[0].content).toBe(
			'You are Kenji, office worker: a tired sales clerk. You are talking with Socrates. Reply as this person would, in one or two sentences. Write only your own words.\n\nWhat is justice?'
		);
		expect(messages[1].content).toBe('Fairness.');
	});

	it('cleans leaked turn markers from generated text', () => {
		expect(cleanGeneratedTurn('  Hello?<end_of_turn>\n<start_of_turn>user\nmore')).toBe('Hello?');
		expect(cleanGeneratedTurn('model\nHi there')).toBe('Hi there');
	});
});

describe('planGenerationJob', () => {
	it('crosses characters × personas × questions × temperatures within one language, with derived seeds', () => {
		const specs = planGenerationJob({
			characters: [
				{ id: 'c-en', language: 'en' },
				{ id: 'c-ja', language: 'ja' }
			],
			personas: [
				{ id: 'p1', language: 'en' },
				{ id: 'p2', language: 'en' },
				{ id: 'p3', language: 'ja' }
			],
			questions: [
				{ id: 'q1', language: 'en', characterId: 'c-en' },
				{ id: 'q2', language: 'en' },
				{ id: 'q3', language: 'ja', characterId: 'c-ja' },
				{ id: 'q4', language: 'en', characterId: 'other' }
			],
			userTemperatures: [0.3, 0.7],
			seed: 11
		});
		expect(specs.length).toBe(2 * 2 * 2 + 1 * 1 * 2);
		expect(specs[0]).toEqual({
			index: 0,
			characterId: 'c-en',
			personaId: 'p1',
			questionId: 'q1',
			userTemperature: 0.3,
			seed: deriveSeed(11, 0)
		});
		expect(specs.at(-1)).toMatchObject({
			index: 9,
			characterId: 'c-ja',
			personaId: 'p3',
			questionId: 'q3',
			userTemperature: 0.7
		});
		expect(new Set(specs.map((s) => s.seed)).size).toBe(specs.length);
	});
});

describe('runGenerationJob', () => {
	async function setup() {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const dialogues = planGenerationJob({
			characters: [{ id: curatedId('socrates-en'), language: 'en' }],
			personas: [
				{ id: curatedId('persona-office-worker-en'), language: 'en' },
				{ id: curatedId('persona-confucius-en'), language: 'en' }
			],
			questions: [
				{
					id: curatedId('question-socrates-justice-en'),
					language: 'en',
					characterId: curatedId('socrates-en')
				}
			],
			userTemperatures: [0.3, 0.7],
			seed: 5
		});
		const spec: GenerationJobSpec = {
			jobId: 'job-1',
			seed: 5,
			dialogues,
			model: { model: 'mlc-ai/gemma-2-2b-it' },
			characterSampling: sampling,
			userSampling: sampling,
			exchanges: 2
		};
		return { db, spec };
	}

	it('saves complete dialogues with everything needed to reproduce them', async () => {
		const { db, spec } = await setup();
		const log: { messages: ChatMessage[]; seed: number; temperature: number }[] = [];
		const progress: number[] = [];
		const result = await runGenerationJob(spec, fakeEngine(log), db, {
			onProgress: (p) => progress.push(p.done)
		});
		expect(result).toEqual({ generated: 4, skipped: 0 });
		expect(progress).toEqual([0, 1, 2, 3, 4]);
		const d = (await db.dialogues.get(dialogueIdFor('job-1', 1)))!;
		expect(d.turns.map((t) => t.role)).toEqual(['model', 'user', 'model', 'user', 'model']);
		expect(d.turns[0].content).toBe('What is justice, do you think?');
		expect(d.turns[2].content).toBe(
			`character reply 3 (seed ${deriveSeed(spec.dialogues[1].seed, 2)})`
		);
		expect(d).toMatchObject({
			characterId: curatedId('socrates-en'),
			personaId: curatedId('persona-office-worker-en'),
			questionId: curatedId('question-socrates-justice-en'),
			status: 'pending',
			origin: 'generated'
		});
		expect(d.generation).toMatchObject({
			model: 'mlc-ai/gemma-2-2b-it',
			exchanges: 2,
			seed: spec.dialogues[1].seed,
			promptVersion: PROMPT_VERSION,
			jobId: 'job-1',
			userSampling: { temperature: 0.7 },
			characterSampling: sampling
		});
		// The user side ran at the dialogue's temperature; the character side at its fixed sampling.
		expect(
			log.filter((c) => c.messages[0].content.startsWith('You are Kenji')).map((c) => c.temperature)
		).toEqual([0.3, 0.3, 0.7, 0.7]);
		expect(await db.jobs.get('job-1')).toMatchObject({
			status: 'done',
			progress: { done: 4, total: 4 }
		});
		db.close();
	});

	it('resumes from the first missing dialogue after an abort, producing the same dialogues', async () => {
		const { db, spec } = await setup();
		const controller = new AbortController();
		await expect(
			runGenerationJob(spec, fakeEngine(), db, {
				signal: controller.signal,
				onProgress: (p) => p.done === 2 && controller.abort()
			})
		).rejects.toThrow();
		expect(await db.dialogues.count()).toBe(2);
		expect((await db.jobs.get('job-1'))?.status).toBe('paused');

		const log: { messages: ChatMessage[]; seed: number; temperature: number }[] = [];
		const result = await runGenerationJob(spec, fakeEngine(log), db);
		expect(result).toEqual({ generated: 2, skipped: 0 });
		expect(log.length).toBe(2 * 2 * 2); // two dialogues × two exchanges × two sides
		const resumed = await db.dialogues.orderBy('id').toArray();
		const fresh = await setup();
		await runGenerationJob(fresh.spec, fakeEngine(), fresh.db);
		const straight = await fresh.db.dialogues.orderBy('id').toArray();
		expect(resumed.map((d) => d.turns)).toEqual(straight.map((d) => d.turns));
		db.close();
		fresh.db.close();
	});

	it('skips dialogues already saved when started from an explicit index', async () => {
		const { db, spec } = await setup();
		await runGenerationJob(spec, fakeEngine(), db);
		expect(await runGenerationJob(spec, fakeEngine(), db, { startIndex: 1 })).toEqual({
			generated: 0,
			skipped: 3
		});
		db.close();
	});
});

describe('a dialogue that outgrows the context', () => {
	/** The fake engine's reply to a prompt of more than `maxMessages` messages is the worker's overflow error. */
	function overflowingEngine(maxMessages: number): TextEngine {
		const inner = fakeEngine();
		return {
			async generate(prompt, s, signal) {
				if (prompt.messages.length > maxMessages)
					throw new Error(
						`The conversation is 300 tokens long; the context holds 256. Start a new chat or shorten it.`
					);
				return inner.generate(prompt, s, signal);
			}
		};
	}

	async function setupOne(exchanges: number) {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const spec: GenerationJobSpec = {
			jobId: 'job-ctx',
			seed: 1,
			dialogues: planGenerationJob({
				characters: [{ id: curatedId('socrates-en'), language: 'en' }],
				personas: [{ id: curatedId('persona-office-worker-en'), language: 'en' }],
				questions: [
					{
						id: curatedId('question-socrates-justice-en'),
						language: 'en',
						characterId: curatedId('socrates-en')
					}
				],
				userTemperatures: [0.3, 0.7],
				seed: 1
			}),
			model: { model: 'm' },
			characterSampling: sampling,
			userSampling: sampling,
			exchanges
		};
		return { db, spec };
	}

	it('keeps the exchanges written before the overflow and records where it stopped', async () => {
		const { db, spec } = await setupOne(5);
		// Prompts grow by two messages per exchange: the third exchange's character prompt (7 messages) overflows.
		const result = await runGenerationJob(spec, overflowingEngine(6), db);
		expect(result.generated).toBe(2);
		const d = (await db.dialogues.get(dialogueIdFor('job-ctx', 0)))!;
		expect(d.turns.map((t) => t.role)).toEqual(['model', 'user', 'model', 'user', 'model']);
		expect(d.generation?.stoppedEarly).toEqual({
			reason: 'context',
			exchanges: 2,
			contextTokens: 256
		});
		expect((await db.jobs.get('job-ctx'))?.status).toBe('done');
		db.close();
	});

	it('fails the job with a context code when not even the first exchange fits, keeping earlier dialogues', async () => {
		const { db, spec } = await setupOne(1);
		let calls = 0;
		const engine: TextEngine = {
			async generate(prompt, s, signal) {
				// The first dialogue fits; every prompt after it overflows.
				if (++calls > 2) throw new Error('The conversation is 9 tokens long; the context holds 8.');
				return fakeEngine().generate(prompt, s, signal);
			}
		};
		const error = await runGenerationJob(spec, engine, db).catch((e) => e);
		expect(error).toBeInstanceOf(GenerationJobError);
		expect(error.failure).toEqual({
			code: 'context',
			params: expect.objectContaining({ index: 2, total: 2, done: 1, limit: 8 })
		});
		expect(await db.dialogues.count()).toBe(1);
		expect(await db.jobs.get('job-ctx')).toMatchObject({
			status: 'failed',
			failure: { code: 'context' }
		});
		db.close();
	});

	it('reads the limit from a typed ContextOverflow error too', () => {
		const typed = Object.assign(new Error('too long'), { name: 'ContextOverflow', limit: 512 });
		expect(contextOverflowLimit(typed)).toBe(512);
		const coded = Object.assign(new Error('The prompt is 300 tokens long.'), {
			code: 'context-overflow',
			params: { tokens: 300, limit: 256 }
		});
		expect(contextOverflowLimit(coded)).toBe(256);
		expect(contextOverflowLimit(new Error('network down'))).toBeNull();
	});
});
