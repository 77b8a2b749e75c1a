/**
 * The studio's built-in content (JSON under ./builtin, bundled so it works offline): the Socrates
 * and ojō-sama characters in English and Japanese, user personas, Socrates' opening questions, the
 * curated Socrates single-exchange sets, and the judge rubrics.
 *
 * `seedCuratedContent(db)` puts it into the database. Rules:
 * - Every built-in item has a stable `curatedKey`; its record id is `curated:<curatedKey>`.
 * - Edit detection by fingerprint: for each curatedKey the seeder stores (in settings,
 *   key CURATED_FINGERPRINTS_SETTING) the FNV-1a fingerprint of the content fields it last wrote.
 *   On a later run:
 *     record missing, never seeded            → insert it;
 *     record missing, seeded before           → the user deleted it: leave it deleted;
 *     record equals the built-in content      → nothing to do;
 *     record equals what the seeder last wrote → unedited, so update it to the new built-in content;
 *     anything else                           → the user edited it: keep theirs, never overwrite.
 *   Content fields: characters (name, language, profile, styleNotes, exampleLines, prompt,
 *   shortPrefix, longPrefix), personas (name, kind, language, description), questions (language,
 *   text, characterId), curated sets (name, train, eval).
 * - Rubrics are versioned (see rubrics.ts): a built-in rubric key gets version 1 once; edits make
 *   new versions, so there is nothing to overwrite.
 * - Everything runs in one transaction, so two tabs seeding at once cannot half-seed.
 */
import type { StudioDatabase } from '../data/db';
import type {
	Character,
	ChatMessage,
	Dataset,
	Language,
	OpeningQuestion,
	Persona,
	PersonaKind,
	Rubric,
	TrainingExample
} from '../data/types';
import charactersFile from './builtin/characters.json';
import personasFile from './builtin/personas.json';
import questionsFile from './builtin/socrates-questions.json';
import exchangesEn from './builtin/socrates-exchanges-en.json';
import exchangesJa from './builtin/socrates-exchanges-ja.json';
import { BUILTIN_RUBRICS, builtinRubricId } from './rubrics';
import { fnv1a, stableStringify } from './random';
import type { CharacterFields } from './characters';
import { SETTINGS } from '../data/settings';

export const CURATED_FINGERPRINTS_SETTING = SETTINGS.curatedFingerprints.key;

export function curatedId(curatedKey: string): string {
	return `curated:${curatedKey}`;
}

type CuratedCharacter = CharacterFields & { curatedKey: string };

interface CuratedPersonaPair {
	key: string;
	kind: PersonaKind;
	en: { name: string; description: string };
	ja: { name: string; description: string };
}

interface CuratedQuestion {
	key: string;
	en: string;
	ja: string;
}

interface CuratedExchangeSet {
	curatedKey: string;
	name: string;
	language: Language;
	characterKey: string;
	items: {
		curatedKey: string;
		messages: { role: 'user' | 'assistant' | 'model'; content: string }[];
	}[];
}

export const CURATED_CHARACTERS: CuratedCharacter[] = (
	charactersFile as { characters: CuratedCharacter[] }
).characters;

/** Personas, one record per language: curatedKey `persona-<key>-<language>`. */
export const CURATED_PERSONAS: (Omit<Persona, 'id' | 'origin' | 'createdAt'> & {
	curatedKey: string;
})[] = (personasFile as { personas: CuratedPersonaPair[] }).personas.flatMap((p) =>
	(['en', 'ja'] as const).map((language) => ({
		curatedKey: `persona-${p.key}-${language}`,
		name: p[language].name,
		kind: p.kind,
		language,
		description: p[language].description
	}))
);

/** Socrates' opening questions, one record per language: curatedKey `question-socrates-<key>-<language>`. */
export const CURATED_QUESTIONS: (Omit<OpeningQuestion, 'id' | 'origin' | 'createdAt'> & {
	curatedKey: string;
})[] = (questionsFile as { characterKey: string; questions: CuratedQuestion[] }).questions.flatMap(
	(q) =>
		(['en', 'ja'] as const).map((language) => ({
			curatedKey: `question-socrates-${q.key}-${language}`,
			language,
			text: q[language],
			characterId: curatedId(`socrates-${language}`)
		}))
);

function toExamples(set: CuratedExchangeSet): TrainingExample[] {
	return set.items.map((item) => ({
		curatedKey: item.curatedKey,
		messages: item.messages.map((m): ChatMessage => ({
			role: m.role === 'user' ? 'user' : 'model',
			content: m.content
		}))
	}));
}

/** The curated Socrates exchange sets (stored as Datasets: all examples in `train`, `eval` empty). */
export const CURATED_EXCHANGE_SETS: {
	curatedKey: string;
	name: string;
	language: Language;
	characterKey: string;
	examples: TrainingExample[];
}[] = [exchangesEn as CuratedExchangeSet, exchangesJa as CuratedExchangeSet].map((set) => ({
	curatedKey: set.curatedKey,
	name: set.name,
	language: set.language,
	characterKey: set.characterKey,
	examples: toExamples(set)
}));

export interface SeedReport {
	inserted: string[];
	updated: string[];
	/** Curated records the user edited: left as they are. */
	keptEdited: string[];
	/** Curated records the user deleted: not brought back. */
	keptDeleted: string[];
}

function fingerprint(fields: unknown): string {
	return fnv1a(stableStringify(fields));
}

const characterContent = (c: Partial<Character>) => ({
	name: c.name,
	language: c.language,
	profile: c.profile,
	styleNotes: c.styleNotes,
	exampleLines: c.exampleLines,
	prompt: c.prompt,
	shortPrefix: c.shortPrefix,
	longPrefix: c.longPrefix
});
const personaContent = (p: Partial<Persona>) => ({
	name: p.name,
	kind: p.kind,
	language: p.language,
	description: p.description
});
const questionContent = (q: Partial<OpeningQuestion>) => ({
	language: q.language,
	text: q.text,
	characterId: q.characterId
});
const datasetContent = (d: Partial<Dataset>) => ({ name: d.name, train: d.train, eval: d.eval });

/** Inserts (or, when unedited, refreshes) the built-in content. Safe to call on every start. */
export async function seedCuratedContent(
	db: StudioDatabase,
	now = Date.now()
): Promise<SeedReport> {
	const report: SeedReport = { inserted: [], updated: [], keptEdited: [], keptDeleted: [] };
	await db.transaction(
		'rw',
		[db.characters, db.personas, db.openingQuestions, db.datasets, db.rubrics, db.settings],
		async () => {
			const seeded = ((await db.settings.get(CURATED_FINGERPRINTS_SETTING))?.value ?? {}) as Record<
				string,
				string
			>;

			async function reconcile<T extends { id: string; curatedKey?: string }>(
				table: {
					where(index: string): { equals(key: string): { first(): Promise<T | undefined> } };
					add(item: T): Promise<unknown>;
					put(item: T): Promise<unknown>;
				},
				key: string,
				target: T,
				content: (record: Partial<T>) => unknown,
				refresh: (existing: T) => T
			) {
				const existing = await table.where('curatedKey').equals(key).first();
				const targetPrint = fingerprint(content(target));
				if (!existing) {
					if (seeded[key] !== undefined) report.keptDeleted.push(key);
					else {
						await table.add(target);
						seeded[key] = targetPrint;
						report.inserted.push(key);
					}
					return;
				}
				const existingPrint = fingerprint(content(existing));
				if (existingPrint === targetPrint) seeded[key] = targetPrint;
				else if (existingPrint === seeded[key]) {
					await table.put(refresh(existing));
					seeded[key] = targetPrint;
					report.updated.push(key);
				} else report.keptEdited.push(key);
			}

			/** Each curated item beside its stored record; a refresh stamps updatedAt where the record has one. */
			async function reconcileEach<S extends { curatedKey: string }, T extends { id: string }>(
				table: Parameters<typeof reconcile<T>>[0],
				items: readonly S[],
				toTarget: (item: S) => T,
				content: (record: Partial<T>) => object
			) {
				for (const item of items) {
					const target = toTarget(item);
					const stamp = 'updatedAt' in target ? { updatedAt: now } : {};
					await reconcile(
						table,
						item.curatedKey,
						target,
						content,
						(existing) => ({ ...existing, ...content(target), ...stamp }) as T
					);
				}
			}

			const curated = (key: string) => ({
				id: curatedId(key),
				origin: 'curated' as const,
				createdAt: now
			});
			await reconcileEach(
				db.characters,
				CURATED_CHARACTERS,
				(c): Character => ({ ...c, ...curated(c.curatedKey), updatedAt: now }),
				characterContent
			);
			await reconcileEach(
				db.personas,
				CURATED_PERSONAS,
				(p): Persona => ({ ...p, ...curated(p.curatedKey) }),
				personaContent
			);
			await reconcileEach(
				db.openingQuestions,
				CURATED_QUESTIONS,
				(q): OpeningQuestion => ({ ...q, ...curated(q.curatedKey) }),
				questionContent
			);
			await reconcileEach(
				db.datasets,
				CURATED_EXCHANGE_SETS,
				(set): Dataset => ({
					...curated(set.curatedKey),
					name: set.name,
					curatedKey: set.curatedKey,
					train: set.examples,
					eval: [],
					updatedAt: now
				}),
				datasetContent
			);
			for (const r of BUILTIN_RUBRICS) {
				const key = `rubric-${r.key}`;
				const any = await db.rubrics.where('key').equals(r.key).first();
				if (any) continue;
				if (seeded[key] !== undefined) {
					report.keptDeleted.push(key);
					continue;
				}
				const rubric: Rubric = {
					...r,
					id: builtinRubricId(r.key),
					version: 1,
					origin: 'curated',
					createdAt: now
				};
				await db.rubrics.add(rubric);
				seeded[key] = fingerprint(r);
				report.inserted.push(key);
			}
			await db.settings.put({ key: CURATED_FINGERPRINTS_SETTING, value: seeded });
		}
	);
	return report;
}
