import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import {
	CharactersFileError,
	characterDraft,
	characterFieldsFromDraft,
	createCharacter,
	createPersona,
	deleteCharacter,
	dialoguesOfCharacter,
	duplicateCharacter,
	duplicatePersona,
	exportCharactersFile,
	importCharactersFile,
	saveCharacterDraft,
	savePersonaFields,
	parseCharactersFile,
	serializeCharactersFile,
	updateCharacter,
	updatePersona
} from '../../src/lib/studio/characters';
import { curatedId, seedCuratedContent } from '../../src/lib/studio/curated';

const fields = {
	name: 'Hypatia',
	language: 'en' as const,
	profile: 'A mathematician of Alexandria.',
	styleNotes: 'Calm.',
	exampleLines: ['Shall we measure it?'],
	prompt: 'You are Hypatia.'
};

function problemsOf(fn: () => unknown): string[] {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(CharactersFileError);
		return (error as CharactersFileError).problems;
	}
	throw new Error('expected a CharactersFileError');
}

describe('characters and personas', () => {
	it('creates, updates, duplicates and deletes a character', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const c = await createCharacter(db, fields);
		expect(c.origin).toBe('user');
		const updated = await updateCharacter(db, c.id, { styleNotes: 'Calm and exact.' });
		expect(updated.updatedAt).toBeGreaterThan(c.updatedAt);
		const copy = await duplicateCharacter(db, c.id);
		expect(copy).toMatchObject({ name: 'Hypatia (copy)', styleNotes: 'Calm and exact.' });
		expect(copy.id).not.toBe(c.id);
		await deleteCharacter(db, c.id);
		expect(await db.characters.count()).toBe(1);
		await expect(updateCharacter(db, copy.id, { profile: ' ' })).rejects.toThrow(
			/character\.profile: expected a non-empty string/
		);
		db.close();
	});

	it('duplicates a curated record without its curated key', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const copy = await duplicateCharacter(db, curatedId('socrates-ja'));
		expect(copy).toMatchObject({
			name: 'ソクラテス（コピー）',
			origin: 'user',
			shortPrefix: 'ソクラテスさん。'
		});
		expect(copy.curatedKey).toBeUndefined();
		const persona = await duplicatePersona(db, curatedId('persona-gandhi-en'));
		expect(persona.curatedKey).toBeUndefined();
		expect((await updatePersona(db, persona.id, { kind: 'modern-influenced' })).kind).toBe(
			'modern-influenced'
		);
		db.close();
	});
});

describe('characters file', () => {
	it('round-trips characters and personas through the versioned file', async () => {
		const file = exportCharactersFile(
			[fields],
			[{ name: 'Kenji', kind: 'ordinary', language: 'en', description: 'a clerk' }]
		);
		expect(file).toMatchObject({ format: 'mondo-characters', version: 1 });
		const parsed = parseCharactersFile(serializeCharactersFile(file));
		expect(parsed).toEqual(file);
		const db = new StudioDatabase(`test-${newId()}`);
		const imported = await importCharactersFile(db, parsed);
		expect(imported.characters[0]).toMatchObject({ ...fields, origin: 'imported' });
		expect(imported.personas[0].origin).toBe('imported');
		db.close();
	});

	it('names the item index and field of every problem', () => {
		const bad = {
			format: 'mondo-characters',
			version: 1,
			characters: [
				fields,
				{ ...fields, profile: '', language: 'fr' },
				{ ...fields, exampleLines: ['ok', 3] }
			],
			personas: [{ name: 'X', kind: 'alien', language: 'en', description: 'd' }]
		};
		expect(problemsOf(() => parseCharactersFile(JSON.stringify(bad)))).toEqual([
			'characters[1].language: expected "en" or "ja", got "fr"',
			'characters[1].profile: expected a non-empty string, got ""',
			'characters[2].exampleLines[1]: expected a string, got 3',
			'personas[0].kind: expected one of ordinary, historical, modern-influenced, got "alien"'
		]);
	});

	it('rejects another format, a future version and non-JSON', () => {
		expect(
			problemsOf(() => parseCharactersFile({ format: 'other', version: 2, characters: [] }))
		).toEqual([
			'format: expected "mondo-characters", got "other"',
			'version: this studio reads version 1, got 2'
		]);
		expect(problemsOf(() => parseCharactersFile('{oops'))[0]).toMatch(/^not JSON/);
	});

	it('validates personas on create', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await expect(
			createPersona(db, { name: '', kind: 'ordinary', language: 'ja', description: 'x' })
		).rejects.toThrow(/persona\.name: expected a non-empty string/);
		db.close();
	});
});

describe('the character form', () => {
	it('turns a draft into trimmed fields and saves new or edited characters and personas', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const draft = {
			...characterDraft(),
			name: ' Sage ',
			profile: 'Wise.',
			prompt: 'Be Sage.',
			exampleLines: ' one \n\n two ',
			shortPrefix: '  '
		};
		expect(characterFieldsFromDraft(draft)).toMatchObject({
			name: 'Sage',
			exampleLines: ['one', 'two'],
			shortPrefix: undefined
		});
		const created = await saveCharacterDraft(db, 'new', draft);
		expect(characterDraft(created).exampleLines).toBe('one\ntwo');
		const edited = await saveCharacterDraft(db, created.id, { ...draft, name: 'Sage II' });
		expect(edited.id).toBe(created.id);
		expect(await db.characters.count()).toBe(1);
		expect(await dialoguesOfCharacter(db, created.id)).toBe(0);
		const persona = await savePersonaFields(db, 'new', {
			name: ' Ann ',
			kind: 'ordinary',
			language: 'en',
			description: ' A student '
		});
		expect(persona).toMatchObject({ name: 'Ann', description: 'A student' });
		db.close();
	});
});
