import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, getSetting, newId, putSetting } from '../../src/lib/data/db';

describe('studio database', () => {
	it('stores a character and finds it by its curated key', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const now = Date.now();
		await db.characters.add({
			id: newId(),
			name: 'Socrates',
			language: 'en',
			profile: 'Athenian philosopher',
			styleNotes: 'asks questions',
			exampleLines: ['What is justice?'],
			prompt: 'You are Socrates.',
			origin: 'curated',
			curatedKey: 'socrates-en',
			createdAt: now,
			updatedAt: now
		});
		const found = await db.characters.where('curatedKey').equals('socrates-en').first();
		expect(found?.name).toBe('Socrates');
		await expect(db.characters.add({ ...found!, id: newId() })).rejects.toThrow(
			/ConstraintError|unique/i
		);
		db.close();
	});

	it('keeps settings with a fallback for missing keys', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		expect(await getSetting(db, 'language', 'en')).toBe('en');
		await putSetting(db, 'language', 'ja');
		expect(await getSetting(db, 'language', 'en')).toBe('ja');
		db.close();
	});

	it('finds judgments of a dialogue by rubric through the compound index', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const dialogueId = newId();
		await db.judgments.bulkAdd([
			{
				id: newId(),
				dialogueId,
				rubricId: 'r1',
				rubricKey: 'tone-flow',
				rubricVersion: 1,
				judge: { kind: 'local', model: 'tiny' },
				scores: { tone: { score: 3.2 } },
				comment: 'ok',
				createdAt: 1
			},
			{
				id: newId(),
				dialogueId,
				rubricId: 'r2',
				rubricKey: 'personality',
				rubricVersion: 1,
				judge: { kind: 'local', model: 'tiny' },
				scores: { personality: { score: 5 } },
				comment: 'ok',
				createdAt: 2
			}
		]);
		const rows = await db.judgments
			.where('[dialogueId+rubricKey]')
			.equals([dialogueId, 'tone-flow'])
			.toArray();
		expect(rows.map((r) => r.rubricId)).toEqual(['r1']);
		db.close();
	});
});
