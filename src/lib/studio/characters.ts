/**
 * Characters and user personas: create, update, duplicate, delete, and the shareable JSON file
 *   { "format": "mondo-characters", "version": 1, "characters": [...], "personas": [...] }
 * A file holds the content fields only (no ids, origins, timestamps); importing creates new
 * records with origin 'imported'. Validation errors name the item and field, e.g.
 * `characters[2].profile: expected a non-empty string`.
 *
 * Copies (duplicate, import) never carry a curatedKey: that key marks the one built-in record.
 * Deleting a character leaves its dialogues and datasets in place (they are history).
 */
import type { StudioDatabase } from '../data/db';
import { newId } from '../data/db';
import type { Character, Language, Persona, PersonaKind } from '../data/types';
import { parseJsonText } from '../model/json';

export const CHARACTERS_FILE_FORMAT = 'mondo-characters';
export const CHARACTERS_FILE_VERSION = 1;
/** A characters file is a few kB per character; anything this big is not one. */
export const MAX_CHARACTERS_FILE_CHARS = 16 * 1024 * 1024;

export type CharacterFields = Pick<
	Character,
	| 'name'
	| 'language'
	| 'profile'
	| 'styleNotes'
	| 'exampleLines'
	| 'prompt'
	| 'shortPrefix'
	| 'longPrefix'
>;
export type PersonaFields = Pick<Persona, 'name' | 'kind' | 'language' | 'description'>;

export interface CharactersFile {
	format: typeof CHARACTERS_FILE_FORMAT;
	version: typeof CHARACTERS_FILE_VERSION;
	characters: CharacterFields[];
	personas: PersonaFields[];
}

export class CharactersFileError extends Error {
	constructor(readonly problems: string[]) {
		super(
			`characters file is invalid: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? ` (and ${problems.length - 8} more)` : ''}`
		);
		this.name = 'CharactersFileError';
	}
}

/** What a characters form or import lists when it fails: each problem of a file, else the error. */
export function charactersProblems(error: unknown): string[] {
	return error instanceof CharactersFileError ? error.problems : [(error as Error).message];
}

const LANGUAGES: Language[] = ['en', 'ja'];
const PERSONA_KINDS: PersonaKind[] = ['ordinary', 'historical', 'modern-influenced'];

function characterFields(c: CharacterFields): CharacterFields {
	const out: CharacterFields = {
		name: c.name,
		language: c.language,
		profile: c.profile,
		styleNotes: c.styleNotes,
		exampleLines: [...c.exampleLines],
		prompt: c.prompt
	};
	if (c.shortPrefix !== undefined) out.shortPrefix = c.shortPrefix;
	if (c.longPrefix !== undefined) out.longPrefix = c.longPrefix;
	return out;
}

/** A persona's content fields only (what the file holds and a copy starts from). */
function personaFields(p: PersonaFields): PersonaFields {
	return { name: p.name, kind: p.kind, language: p.language, description: p.description };
}

/**
 * Checks of one record's fields: each failed check adds a problem naming `path.field` and what it
 * got (cut to 40 characters). Null when the record is not an object (`problems` says so).
 */
function fieldChecks(value: unknown, path: string) {
	const problems: string[] = [];
	if (!value || typeof value !== 'object' || Array.isArray(value)) {
		problems.push(`${path}: expected an object`);
		return { problems, checks: null };
	}
	const v = value as Record<string, unknown>;
	const fail = (field: string, expected: string) =>
		problems.push(
			`${path}.${field}: expected ${expected}, got ${JSON.stringify(v[field])?.slice(0, 40) ?? 'nothing'}`
		);
	const checks = {
		v,
		fail,
		/** A string, not blank when `required`; an optional one may be left out. */
		text(field: string, required: boolean) {
			const x = v[field];
			if (x === undefined && !required) return;
			if (typeof x !== 'string' || (required && x.trim() === '')) fail(field, 'a non-empty string');
		},
		oneOf(field: string, allowed: readonly string[], expected = `one of ${allowed.join(', ')}`) {
			if (!allowed.includes(v[field] as string)) fail(field, expected);
		}
	};
	return { problems, checks };
}

/** Validates character fields; returns problems prefixed with `path` (e.g. "characters[0]"). */
export function validateCharacterFields(value: unknown, path: string): string[] {
	const { problems, checks: c } = fieldChecks(value, path);
	if (!c) return problems;
	c.text('name', true);
	c.oneOf('language', LANGUAGES, '"en" or "ja"');
	c.text('profile', true);
	c.text('prompt', true);
	if (typeof c.v.styleNotes !== 'string') c.fail('styleNotes', 'a string');
	c.text('shortPrefix', false);
	c.text('longPrefix', false);
	if (!Array.isArray(c.v.exampleLines))
		problems.push(`${path}.exampleLines: expected an array of strings`);
	else
		c.v.exampleLines.forEach((line, i) => {
			if (typeof line !== 'string')
				problems.push(`${path}.exampleLines[${i}]: expected a string, got ${JSON.stringify(line)}`);
		});
	return problems;
}

export function validatePersonaFields(value: unknown, path: string): string[] {
	const { problems, checks: c } = fieldChecks(value, path);
	if (!c) return problems;
	c.text('name', true);
	c.oneOf('kind', PERSONA_KINDS);
	c.oneOf('language', LANGUAGES, '"en" or "ja"');
	c.text('description', true);
	return problems;
}

function assertValid(problems: string[]): void {
	if (problems.length) throw new CharactersFileError(problems);
}

export async function createCharacter(
	db: StudioDatabase,
	fields: CharacterFields
): Promise<Character> {
	assertValid(validateCharacterFields(fields, 'character'));
	const now = Date.now();
	const character: Character = {
		...characterFields(fields),
		id: newId(),
		origin: 'user',
		createdAt: now,
		updatedAt: now
	};
	await db.characters.add(character);
	return character;
}

/** The stored record with this id, else an error naming what was looked for. */
async function stored<T>(
	table: { get(id: string): Promise<T | undefined> },
	kind: string,
	id: string
): Promise<T> {
	const record = await table.get(id);
	if (!record) throw new Error(`${kind} ${id} not found`);
	return record;
}

/** A copy's default name, in the record's language. */
function copyName(record: { name: string; language: Language }): string {
	return record.language === 'ja' ? `${record.name}（コピー）` : `${record.name} (copy)`;
}

/** Updates content fields; a curated record keeps its curatedKey (seeding then sees it as edited). */
export async function updateCharacter(
	db: StudioDatabase,
	id: string,
	changes: Partial<CharacterFields>
): Promise<Character> {
	const current = await stored<Character>(db.characters, 'character', id);
	const next: Character = {
		...current,
		...changes,
		id,
		updatedAt: Math.max(Date.now(), current.updatedAt + 1)
	};
	assertValid(validateCharacterFields(next, 'character'));
	await db.characters.put(next);
	return next;
}

export async function duplicateCharacter(
	db: StudioDatabase,
	id: string,
	name?: string
): Promise<Character> {
	const current = await stored<Character>(db.characters, 'character', id);
	return createCharacter(db, { ...characterFields(current), name: name ?? copyName(current) });
}

export async function deleteCharacter(db: StudioDatabase, id: string): Promise<void> {
	await db.characters.delete(id);
}

export async function createPersona(db: StudioDatabase, fields: PersonaFields): Promise<Persona> {
	assertValid(validatePersonaFields(fields, 'persona'));
	const persona: Persona = {
		...personaFields(fields),
		id: newId(),
		origin: 'user',
		createdAt: Date.now()
	};
	await db.personas.add(persona);
	return persona;
}

export async function updatePersona(
	db: StudioDatabase,
	id: string,
	changes: Partial<PersonaFields>
): Promise<Persona> {
	const current = await stored<Persona>(db.personas, 'persona', id);
	const next: Persona = { ...current, ...changes, id };
	assertValid(validatePersonaFields(next, 'persona'));
	await db.personas.put(next);
	return next;
}

export async function duplicatePersona(
	db: StudioDatabase,
	id: string,
	name?: string
): Promise<Persona> {
	const current = await stored<Persona>(db.personas, 'persona', id);
	return createPersona(db, { ...personaFields(current), name: name ?? copyName(current) });
}

export async function deletePersona(db: StudioDatabase, id: string): Promise<void> {
	await db.personas.delete(id);
}

export function exportCharactersFile(
	characters: CharacterFields[],
	personas: PersonaFields[]
): CharactersFile {
	return {
		format: CHARACTERS_FILE_FORMAT,
		version: CHARACTERS_FILE_VERSION,
		characters: characters.map(characterFields),
		personas: personas.map(personaFields)
	};
}

export function serializeCharactersFile(file: CharactersFile): string {
	return `${JSON.stringify(file, null, '\t')}\n`;
}

/** Parses and validates a characters file (text or already-parsed JSON). Throws CharactersFileError listing every problem. */
export function parseCharactersFile(input: string | unknown): CharactersFile {
	let value: unknown = input;
	if (typeof input === 'string') {
		if (input.length > MAX_CHARACTERS_FILE_CHARS)
			throw new CharactersFileError([
				`${input.length} characters is more than the ${MAX_CHARACTERS_FILE_CHARS} a characters file may have`
			]);
		try {
			value = parseJsonText(input);
		} catch (error) {
			throw new CharactersFileError([`not JSON: ${(error as Error).message}`]);
		}
	}
	if (!value || typeof value !== 'object' || Array.isArray(value))
		throw new CharactersFileError(['expected a JSON object']);
	const v = value as Record<string, unknown>;
	const problems: string[] = [];
	if (v.format !== CHARACTERS_FILE_FORMAT)
		problems.push(
			`format: expected "${CHARACTERS_FILE_FORMAT}", got ${JSON.stringify(v.format) ?? 'nothing'}`
		);
	if (v.version !== CHARACTERS_FILE_VERSION)
		problems.push(
			`version: this studio reads version ${CHARACTERS_FILE_VERSION}, got ${JSON.stringify(v.version) ?? 'nothing'}`
		);
	const characters = v.characters ?? [];
	const personas = v.personas ?? [];
	if (!Array.isArray(characters)) problems.push('characters: expected an array');
	else
		characters.forEach((c, i) => problems.push(...validateCharacterFields(c, `characters[${i}]`)));
	if (!Array.isArray(personas)) problems.push('personas: expected an array');
	else personas.forEach((p, i) => problems.push(...validatePersonaFields(p, `personas[${i}]`)));
	assertValid(problems);
	return {
		format: CHARACTERS_FILE_FORMAT,
		version: CHARACTERS_FILE_VERSION,
		characters: (characters as CharacterFields[]).map(characterFields),
		personas: (personas as PersonaFields[]).map(personaFields)
	};
}

/** Imports a parsed file as new records (origin 'imported'); all or nothing. */
export async function importCharactersFile(
	db: StudioDatabase,
	file: CharactersFile
): Promise<{ characters: Character[]; personas: Persona[] }> {
	const now = Date.now();
	const characters: Character[] = file.characters.map((c) => ({
		...characterFields(c),
		id: newId(),
		origin: 'imported',
		createdAt: now,
		updatedAt: now
	}));
	const personas: Persona[] = file.personas.map((p) => ({
		...p,
		id: newId(),
		origin: 'imported',
		createdAt: now
	}));
	await db.transaction('rw', db.characters, db.personas, async () => {
		await db.characters.bulkAdd(characters);
		await db.personas.bulkAdd(personas);
	});
	return { characters, personas };
}

/** A character as its editing form holds it (example lines as one text, one per line). */
export interface CharacterDraft {
	name: string;
	language: Language;
	profile: string;
	styleNotes: string;
	exampleLines: string;
	prompt: string;
	shortPrefix: string;
	longPrefix: string;
}

export function characterDraft(c?: Character): CharacterDraft {
	return {
		name: c?.name ?? '',
		language: c?.language ?? 'en',
		profile: c?.profile ?? '',
		styleNotes: c?.styleNotes ?? '',
		exampleLines: c?.exampleLines.join('\n') ?? '',
		prompt: c?.prompt ?? '',
		shortPrefix: c?.shortPrefix ?? '',
		longPrefix: c?.longPrefix ?? ''
	};
}

/** The fields a draft describes: trimmed, empty example lines dropped, empty prefixes unset. */
export function characterFieldsFromDraft(draft: CharacterDraft): CharacterFields {
	return {
		name: draft.name.trim(),
		language: draft.language,
		profile: draft.profile.trim(),
		styleNotes: draft.styleNotes.trim(),
		exampleLines: draft.exampleLines
			.split('\n')
			.map((l) => l.trim())
			.filter(Boolean),
		prompt: draft.prompt.trim(),
		// Empty prefixes fall back to the defaults built from the name (dataset.ts).
		shortPrefix: draft.shortPrefix.trim() || undefined,
		longPrefix: draft.longPrefix.trim() || undefined
	};
}

/** Creates (id 'new') or updates a character from its draft; returns the saved record. */
export async function saveCharacterDraft(
	db: StudioDatabase,
	id: string,
	draft: CharacterDraft
): Promise<Character> {
	const fields = characterFieldsFromDraft(draft);
	return id === 'new' ? createCharacter(db, fields) : updateCharacter(db, id, fields);
}

/** Creates (id 'new') or updates a persona; returns the saved record. */
export async function savePersonaFields(
	db: StudioDatabase,
	id: string,
	fields: PersonaFields
): Promise<Persona> {
	const trimmed = { ...fields, name: fields.name.trim(), description: fields.description.trim() };
	return id === 'new' ? createPersona(db, trimmed) : updatePersona(db, id, trimmed);
}

/** How many dialogues a character appears in (said in the delete confirmation: they stay). */
export async function dialoguesOfCharacter(db: StudioDatabase, id: string): Promise<number> {
	return db.dialogues.where('characterId').equals(id).count();
}
