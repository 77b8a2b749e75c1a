import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import {
	CURATED_CHARACTERS,
	CURATED_EXCHANGE_SETS,
	CURATED_FINGERPRINTS_SETTING,
	CURATED_PERSONAS,
	CURATED_QUESTIONS,
	curatedId,
	seedCuratedContent
} from '../../src/lib/studio/curated';
import { updateCharacter } from '../../src/lib/studio/characters';
import { validateExampleMessages } from '../../src/lib/studio/formats';

describe('curated content', () => {
	it('has Socrates and the ojō-sama character in English and Japanese with prefixes', () => {
		const keys = CURATED_CHARACTERS.map((c) => c.curatedKey).sort();
		expect(keys).toEqual(['ojosama-en', 'ojosama-ja', 'socrates-en', 'socrates-ja']);
		for (const c of CURATED_CHARACTERS) {
			expect(c.profile.length, c.curatedKey).toBeGreaterThan(200);
			expect(c.exampleLines.length, c.curatedKey).toBeGreaterThanOrEqual(3);
			expect(c.shortPrefix && c.longPrefix, c.curatedKey).toBeTruthy();
		}
		expect(
			CURATED_CHARACTERS.find((c) => c.curatedKey === 'ojosama-ja')!.exampleLines.every((l) =>
				/ですわ|でしたわ|ですの|かしら/.test(l)
			)
		).toBe(true);
		expect(CURATED_CHARACTERS.find((c) => c.curatedKey === 'socrates-ja')!.longPrefix).toBe(
			'あなたは古代ギリシャの哲学者ソクラテスです。'
		);
	});

	it('has at least 30 personas per language covering the three kinds', () => {
		for (const language of ['en', 'ja'] as const) {
			const personas = CURATED_PERSONAS.filter((p) => p.language === language);
			expect(personas.length).toBeGreaterThanOrEqual(30);
			for (const kind of ['ordinary', 'historical', 'modern-influenced'] as const)
				expect(
					personas.filter((p) => p.kind === kind).length,
					`${language} ${kind}`
				).toBeGreaterThanOrEqual(10);
		}
	});

	it('has at least 20 Socrates opening questions per language, each a question', () => {
		for (const language of ['en', 'ja'] as const) {
			const questions = CURATED_QUESTIONS.filter((q) => q.language === language);
			expect(questions.length).toBeGreaterThanOrEqual(20);
			expect(questions.every((q) => q.characterId === curatedId(`socrates-${language}`))).toBe(
				true
			);
		}
	});

	it('has at least 150 valid single exchanges per language where every Socrates reply ends with a question mark', () => {
		for (const language of ['en', 'ja'] as const) {
			const set = CURATED_EXCHANGE_SETS.find((s) => s.language === language)!;
			expect(set.examples.length).toBeGreaterThanOrEqual(150);
			for (const example of set.examples) {
				expect(validateExampleMessages(example.messages), example.curatedKey).toBeNull();
				expect(example.messages.length, example.curatedKey).toBe(2);
				const reply = example.messages[1].content;
				expect(reply, example.curatedKey).toMatch(/[?？]$/);
				const sentences = reply.split(/(?<=[.?!。？！])\s*/).filter(Boolean).length;
				expect(sentences, `${example.curatedKey}: ${reply}`).toBeLessThanOrEqual(4);
			}
		}
	});

	it('gives every curated item a unique stable key', () => {
		const keys = [
			...CURATED_CHARACTERS.map((c) => c.curatedKey),
			...CURATED_PERSONAS.map((p) => p.curatedKey),
			...CURATED_QUESTIONS.map((q) => q.curatedKey),
			...CURATED_EXCHANGE_SETS.flatMap((s) => [
				s.curatedKey,
				...s.examples.map((e) => e.curatedKey!)
			])
		];
		expect(new Set(keys).size).toBe(keys.length);
		expect(CURATED_EXCHANGE_SETS[0].examples[0].curatedKey).toBe('socrates-en-001');
	});

	it('gives no two exchanges the same user line', () => {
		for (const set of CURATED_EXCHANGE_SETS) {
			const users = set.examples.map((e) => e.messages[0].content);
			expect(new Set(users).size, set.curatedKey).toBe(users.length);
		}
	});
});

describe('seedCuratedContent', () => {
	it('inserts everything once and is idempotent', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const first = await seedCuratedContent(db, 1000);
		expect(first.inserted.length).toBe(
			CURATED_CHARACTERS.length +
				CURATED_PERSONAS.length +
				CURATED_QUESTIONS.length +
				CURATED_EXCHANGE_SETS.length +
				4
		);
		expect(await db.characters.count()).toBe(4);
		expect(await db.personas.count()).toBe(CURATED_PERSONAS.length);
		expect(await db.openingQuestions.count()).toBe(CURATED_QUESTIONS.length);
		expect(await db.rubrics.count()).toBe(4);
		const socrates = await db.characters.get(curatedId('socrates-en'));
		expect(socrates).toMatchObject({
			origin: 'curated',
			curatedKey: 'socrates-en',
			name: 'Socrates'
		});
		const set = await db.datasets.where('curatedKey').equals('socrates-exchanges-ja').first();
		expect(set?.train.length).toBeGreaterThanOrEqual(150);
		expect(set?.train[0].messages[1].role).toBe('model');

		const second = await seedCuratedContent(db, 2000);
		expect(second).toEqual({ inserted: [], updated: [], keptEdited: [], keptDeleted: [] });
		expect(await db.characters.count()).toBe(4);
		expect((await db.characters.get(curatedId('socrates-en')))?.updatedAt).toBe(1000);
		db.close();
	});

	it('never overwrites a curated record the user edited', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db, 1000);
		await updateCharacter(db, curatedId('socrates-en'), { prompt: 'You are my Socrates.' });
		const report = await seedCuratedContent(db, 3000);
		expect(report.keptEdited).toEqual(['socrates-en']);
		expect((await db.characters.get(curatedId('socrates-en')))?.prompt).toBe(
			'You are my Socrates.'
		);
		db.close();
	});

	it('does not bring back a curated record the user deleted', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db, 1000);
		await db.personas.delete(curatedId('persona-confucius-en'));
		const report = await seedCuratedContent(db, 3000);
		expect(report.keptDeleted).toEqual(['persona-confucius-en']);
		expect(await db.personas.get(curatedId('persona-confucius-en'))).toBeUndefined();
		db.close();
	});

	it('refreshes an unedited record whose built-in content changed in a newer release', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db, 1000);
		// Simulate an older release: the stored record and its fingerprint both say "old text".
		const old = {
			...(await db.openingQuestions.get(curatedId('question-socrates-justice-en')))!,
			text: 'Old wording?'
		};
		await db.openingQuestions.put(old);
		const { fnv1a, stableStringify } = await import('../../src/lib/studio/random');
		const prints = (await db.settings.get(CURATED_FINGERPRINTS_SETTING))!.value as Record<
			string,
			string
		>;
		prints['question-socrates-justice-en'] = fnv1a(
			stableStringify({ language: old.language, text: old.text, characterId: old.characterId })
		);
		await db.settings.put({ key: CURATED_FINGERPRINTS_SETTING, value: prints });

		const report = await seedCuratedContent(db, 3000);
		expect(report.updated).toEqual(['question-socrates-justice-en']);
		expect((await db.openingQuestions.get(curatedId('question-socrates-justice-en')))?.text).toBe(
			'What is justice, do you think?'
		);
		db.close();
	});
});
