import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { Character, OpeningQuestion, Persona } from '../../src/lib/data/types';
import {
	addOpeningQuestion,
	defaultGenerationForm,
	forgetGenerationJob,
	generationJobSpec,
	generationProblems,
	loadGenerationForm,
	parseTemperatures,
	saveGenerationForm
} from '../../src/lib/studio/generate-form';
import { samplingProblems } from '../../src/lib/studio/sampling';

const character = { id: 'c', name: 'Sage', language: 'en' } as Character;
const persona = { id: 'p', name: 'Ann', language: 'en' } as Persona;
const question = { id: 'q', language: 'en', text: 'Why?' } as OpeningQuestion;
const choice = (changes: Partial<ReturnType<typeof defaultGenerationForm>> = {}) => ({
	form: { ...defaultGenerationForm(), ...changes },
	character,
	personas: [persona],
	questions: [question]
});

describe('the generation form', () => {
	it('reads temperatures separated by commas, spaces or 、 and refuses values outside 0–2', () => {
		expect(parseTemperatures('0.3, 0.7')).toEqual([0.3, 0.7]);
		expect(parseTemperatures('0.3、1 2')).toEqual([0.3, 1, 2]);
		expect(parseTemperatures('0.3, 3')).toBeNull();
		expect(parseTemperatures('warm')).toBeNull();
		expect(parseTemperatures('  ')).toBeNull();
	});

	it('names every field that keeps a job from starting, before it starts', () => {
		expect(generationProblems(choice())).toEqual([]);
		const bad = choice({ exchanges: 0, seed: -1, temperaturesText: 'x' });
		bad.form.characterSampling = { ...bad.form.characterSampling, topP: 2 };
		bad.form.userSampling = { ...bad.form.userSampling, maxNewTokens: 0, temperature: 9 };
		expect(generationProblems({ ...bad, personas: [], questions: [] })).toEqual([
			{ field: 'temperatures' },
			{ field: 'exchanges' },
			{ field: 'seed' },
			{ field: 'personas' },
			{ field: 'questions' },
			{ field: 'characterSampling', sampling: 'topP' },
			// The user side's own temperature is not used (the list gives it), so it is not checked.
			{ field: 'userSampling', sampling: 'maxNewTokens' }
		]);
		expect(() => generationJobSpec({ ...choice(), personas: [] }, 'm')).toThrow(/personas/);
	});

	it('describes one dialogue per persona × question × temperature', () => {
		const spec = generationJobSpec(choice(), 'tiny');
		expect(spec.dialogues).toHaveLength(2);
		expect(spec.model).toEqual({ model: 'tiny' });
		expect(spec.dialogues.map((d) => d.userTemperature)).toEqual([0.3, 0.7]);
	});

	it('remembers the form between visits, ignoring saved fields of the wrong type', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		expect(await loadGenerationForm(db)).toEqual(defaultGenerationForm());
		await saveGenerationForm(db, { ...defaultGenerationForm(), exchanges: 3, characterId: 'c' });
		expect(await loadGenerationForm(db)).toMatchObject({ exchanges: 3, characterId: 'c' });
		await db.settings.put({ key: 'studio.generate.form', value: { exchanges: 'many' } });
		expect((await loadGenerationForm(db)).exchanges).toBe(12);
		db.close();
	});

	it('adds a question in the character’s language; forgetting a job keeps its dialogues', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const q = await addOpeningQuestion(db, character, '  What is a good life? ');
		expect(await db.openingQuestions.get(q.id)).toMatchObject({
			text: 'What is a good life?',
			language: 'en',
			characterId: 'c',
			origin: 'user'
		});
		await expect(addOpeningQuestion(db, character, ' ')).rejects.toThrow(/empty/);
		const now = Date.now();
		await db.jobs.add({
			id: 'j',
			kind: 'generate',
			status: 'done',
			spec: {},
			progress: { done: 1, total: 1 },
			createdAt: now,
			updatedAt: now
		});
		await db.dialogues.add({
			id: 'j:0',
			characterId: 'c',
			language: 'en',
			turns: [],
			origin: 'generated',
			status: 'pending',
			createdAt: now,
			updatedAt: now
		});
		await forgetGenerationJob(db, 'j');
		expect(await db.jobs.count()).toBe(0);
		expect(await db.dialogues.count()).toBe(1);
		db.close();
	});
});

describe('sampling limits', () => {
	it('names each field out of range or not whole', () => {
		const ok = { temperature: 0.7, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxNewTokens: 96 };
		expect(samplingProblems(ok)).toEqual([]);
		const bad = samplingProblems({ ...ok, topK: 1.5, repetitionPenalty: 0.5, maxNewTokens: NaN });
		expect(bad.map((p) => p.field)).toEqual(['topK', 'repetitionPenalty', 'maxNewTokens']);
		expect(bad[1].limit).toMatchObject({ min: 1, max: 2 });
	});
});
