import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { TrainingExample } from '../../src/lib/data/types';
import {
	DATASET_NAME_MAX,
	createDataset,
	deleteDataset,
	renameDataset,
	runsUsingDataset,
	saveImportedDataset
} from '../../src/lib/studio/dataset-store';
import { EmptyDatasetError, buildDatasetFromDb, defaultRecipe } from '../../src/lib/studio/dataset';
import { curatedId, seedCuratedContent } from '../../src/lib/studio/curated';

const example = (i: number): TrainingExample => ({
	messages: [
		{ role: 'user', content: `q${i}` },
		{ role: 'model', content: `a${i}` }
	]
});

describe('dataset records', () => {
	it('are created with a checked name, and imported ones split 20 % off for eval', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const d = await createDataset(db, { name: '  mine ', origin: 'user', train: [], eval: [] });
		expect(await db.datasets.get(d.id)).toMatchObject({ name: 'mine', origin: 'user' });
		await expect(
			createDataset(db, { name: ' ', origin: 'user', train: [], eval: [] })
		).rejects.toThrow('dataset name: empty');
		const imported = await saveImportedDataset(db, {
			name: 'file',
			examples: Array.from({ length: 10 }, (_, i) => example(i)),
			splitEval: true
		});
		expect([imported.train.length, imported.eval.length]).toEqual([8, 2]);
		expect(imported.origin).toBe('imported');
		await expect(
			saveImportedDataset(db, { name: 'none', examples: [], splitEval: false })
		).rejects.toThrow(/no valid examples/);
		db.close();
	});

	it('are renamed (trimmed, limited) and deleted alone: runs that used them stay', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		const d = await createDataset(db, {
			name: 'old',
			origin: 'user',
			train: [example(1)],
			eval: []
		});
		const other = await createDataset(db, { name: 'other', origin: 'user', train: [], eval: [] });
		await renameDataset(db, d.id, '  new name ');
		expect((await db.datasets.get(d.id))?.name).toBe('new name');
		await expect(renameDataset(db, d.id, 'x'.repeat(DATASET_NAME_MAX + 1))).rejects.toThrow(
			`at most ${DATASET_NAME_MAX}`
		);
		await expect(renameDataset(db, 'missing', 'a')).rejects.toThrow('not found');
		const now = Date.now();
		await db.runs.add({
			id: 'run',
			name: 'r',
			base: { model: 'm' },
			datasetId: d.id,
			trainingArgs: {},
			loraConfig: {},
			status: 'completed',
			metrics: [],
			createdAt: now,
			updatedAt: now
		});
		expect(await runsUsingDataset(db, d.id)).toBe(1);
		await deleteDataset(db, d.id);
		expect(await db.datasets.get(d.id)).toBeUndefined();
		expect(await db.datasets.get(other.id)).toBeDefined();
		expect(await db.runs.get('run')).toBeDefined();
		db.close();
	});

	it('are not saved when a recipe gives no example', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const before = await db.datasets.count();
		const error = await buildDatasetFromDb(db, {
			name: 'empty',
			recipe: defaultRecipe('en', { sources: { dialogueIds: [] } }),
			characterId: curatedId('socrates-en')
		}).catch((e) => e);
		expect(error).toBeInstanceOf(EmptyDatasetError);
		expect(await db.datasets.count()).toBe(before);
		db.close();
	});
});
