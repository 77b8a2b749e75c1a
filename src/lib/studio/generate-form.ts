/**
 * The generation page's form as plain data: its defaults, what is remembered between visits, the
 * checks that run before a job may start, and the job it describes.
 */
import { newId, getSetting, putSetting, type StudioDatabase } from '../data/db';
import type { Character, OpeningQuestion, Persona, SamplingSettings } from '../data/types';
import { planGenerationJob, type GenerationJobSpec } from './generate';
import { samplingProblems, type FieldLimit, type SamplingField } from './sampling';

export const GENERATION_FORM_SETTING = 'studio.generate.form';

export interface GenerationForm {
	characterId: string;
	/** The user side's temperatures as typed ("0.3, 0.7"): one dialogue per value. */
	temperaturesText: string;
	exchanges: number;
	seed: number;
	characterSampling: SamplingSettings;
	userSampling: SamplingSettings;
}

export const EXCHANGES_LIMIT: FieldLimit = { min: 1, max: 50, step: 1, integer: true };

export function defaultGenerationForm(): GenerationForm {
	const sampling = { temperature: 0.7, topK: 40, topP: 0.95, repetitionPenalty: 1.1 };
	return {
		characterId: '',
		temperaturesText: '0.3, 0.7',
		exchanges: 12,
		seed: 1234,
		characterSampling: { ...sampling, maxNewTokens: 160 },
		userSampling: { ...sampling, maxNewTokens: 96 }
	};
}

/** The saved form over the defaults (fields of the wrong type are ignored). */
export async function loadGenerationForm(db: StudioDatabase): Promise<GenerationForm> {
	const form = defaultGenerationForm();
	const saved = await getSetting<Partial<GenerationForm> | null>(db, GENERATION_FORM_SETTING, null);
	if (!saved) return form;
	if (typeof saved.characterId === 'string') form.characterId = saved.characterId;
	if (typeof saved.temperaturesText === 'string') form.temperaturesText = saved.temperaturesText;
	if (typeof saved.exchanges === 'number') form.exchanges = saved.exchanges;
	if (typeof saved.seed === 'number') form.seed = saved.seed;
	form.characterSampling = { ...form.characterSampling, ...saved.characterSampling };
	form.userSampling = { ...form.userSampling, ...saved.userSampling };
	return form;
}

export async function saveGenerationForm(db: StudioDatabase, form: GenerationForm): Promise<void> {
	await putSetting(db, GENERATION_FORM_SETTING, structuredClone(form));
}

/** The temperatures in "0.3, 0.7" (commas, spaces or 、), or null when one is not a number in 0–2. */
export function parseTemperatures(text: string): number[] | null {
	const values = text
		.split(/[,\s、]+/)
		.filter(Boolean)
		.map(Number);
	return values.length > 0 && values.every((x) => Number.isFinite(x) && x >= 0 && x <= 2)
		? values
		: null;
}

export type GenerationProblem =
	| { field: 'temperatures' | 'exchanges' | 'seed' | 'personas' | 'questions' | 'character' }
	| { field: 'characterSampling' | 'userSampling'; sampling: SamplingField };

export interface GenerationChoice {
	form: GenerationForm;
	character: Character | undefined;
	personas: Persona[];
	questions: OpeningQuestion[];
}

/** Everything that keeps the form from starting a job (empty: it may start). */
export function generationProblems(choice: GenerationChoice): GenerationProblem[] {
	const { form } = choice;
	const problems: GenerationProblem[] = [];
	if (!choice.character) problems.push({ field: 'character' });
	if (!parseTemperatures(form.temperaturesText)) problems.push({ field: 'temperatures' });
	if (
		!Number.isInteger(form.exchanges) ||
		form.exchanges < EXCHANGES_LIMIT.min ||
		form.exchanges > EXCHANGES_LIMIT.max
	)
		problems.push({ field: 'exchanges' });
	if (!Number.isInteger(form.seed) || form.seed < 0) problems.push({ field: 'seed' });
	if (choice.personas.length === 0) problems.push({ field: 'personas' });
	if (choice.questions.length === 0) problems.push({ field: 'questions' });
	// The user side's temperature comes from the list above, not from its sampling row.
	for (const p of samplingProblems(form.characterSampling))
		problems.push({ field: 'characterSampling', sampling: p.field });
	for (const p of samplingProblems(form.userSampling).filter((p) => p.field !== 'temperature'))
		problems.push({ field: 'userSampling', sampling: p.field });
	return problems;
}

/** The job the form describes (the form must have no problems). */
export function generationJobSpec(choice: GenerationChoice, modelId: string): GenerationJobSpec {
	const problems = generationProblems(choice);
	if (problems.length)
		throw new Error(`the form has problems: ${problems.map((p) => p.field).join(', ')}`);
	const { form } = choice;
	return {
		jobId: newId(),
		seed: form.seed,
		dialogues: planGenerationJob({
			characters: [choice.character!],
			personas: choice.personas,
			questions: choice.questions,
			userTemperatures: parseTemperatures(form.temperaturesText)!,
			seed: form.seed
		}),
		model: { model: modelId },
		characterSampling: { ...form.characterSampling },
		userSampling: { ...form.userSampling },
		exchanges: form.exchanges
	};
}

/** Adds a user-written opening question for `character` (in its language). */
export async function addOpeningQuestion(
	db: StudioDatabase,
	character: Pick<Character, 'id' | 'language'>,
	text: string
): Promise<OpeningQuestion> {
	const trimmed = text.trim();
	if (!trimmed) throw new Error('opening question: empty text');
	const question: OpeningQuestion = {
		id: newId(),
		language: character.language,
		text: trimmed,
		characterId: character.id,
		origin: 'user',
		createdAt: Date.now()
	};
	await db.openingQuestions.add(question);
	return question;
}

/** Forgets a job's record (its dialogues stay: they are saved on their own). */
export async function forgetGenerationJob(db: StudioDatabase, jobId: string): Promise<void> {
	await db.jobs.delete(jobId);
}
