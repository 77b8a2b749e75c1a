/**
 * Dataset records: the one place they are created (built from a recipe, imported from a file,
 * written by the train page), renamed, given statistics and deleted.
 */
import { writeWhole } from '$lib/data/storage-write';
import { newId, type StudioDatabase } from '../data/db';
import type { Dataset, DatasetStatistics, TrainingExample } from '../data/types';
import { splitTrainEval } from './dataset';

export const DATASET_NAME_MAX = 200;

/** The name, trimmed; an error names the field and the limit when it is empty or too long. */
export function checkDatasetName(name: string): string {
	const trimmed = name.trim();
	if (!trimmed) throw new Error('dataset name: empty');
	if (trimmed.length > DATASET_NAME_MAX)
		throw new Error(`dataset name: ${trimmed.length} characters, at most ${DATASET_NAME_MAX}`);
	return trimmed;
}

export async function createDataset(
	db: StudioDatabase,
	fields: Omit<Dataset, 'id' | 'createdAt' | 'updatedAt'>
): Promise<Dataset> {
	const now = Date.now();
	const dataset: Dataset = {
		...fields,
		name: checkDatasetName(fields.name),
		id: newId(),
		createdAt: now,
		updatedAt: now
	};
	// one transaction: the whole record or none; a full quota → StorageFullError
	await writeWhole(db, [db.datasets], dataset.name, () => db.datasets.add(dataset));
	return dataset;
}

/** Examples imported from a file, with an eval set split off (20 %, at most 50) when asked. */
export async function saveImportedDataset(
	db: StudioDatabase,
	input: {
		name: string;
		examples: TrainingExample[];
		splitEval: boolean;
		statistics?: DatasetStatistics;
	}
): Promise<Dataset> {
	if (input.examples.length === 0) throw new Error('imported dataset: no valid examples');
	const split = input.splitEval
		? splitTrainEval(input.examples, { seed: 42 })
		: { train: input.examples, eval: [] };
	return createDataset(db, {
		name: input.name,
		origin: 'imported',
		train: split.train,
		eval: split.eval,
		...(input.statistics ? { statistics: input.statistics } : {})
	});
}

export async function renameDataset(db: StudioDatabase, id: string, name: string): Promise<void> {
	const trimmed = checkDatasetName(name);
	const changed = await db.datasets.update(id, { name: trimmed, updatedAt: Date.now() });
	if (!changed && !(await db.datasets.get(id))) throw new Error(`dataset ${id} not found`);
}

export async function setDatasetStatistics(
	db: StudioDatabase,
	id: string,
	statistics: DatasetStatistics
): Promise<void> {
	await db.datasets.update(id, { statistics, updatedAt: Date.now() });
}

/**
 * Deletes one dataset. Nothing else goes with it: the dialogues it was built from, and training
 * runs that used it (which keep their metrics, checkpoints and adapters), stay.
 */
export async function deleteDataset(db: StudioDatabase, id: string): Promise<void> {
	await db.datasets.delete(id);
}

/** How many training runs name this dataset (said in the delete confirmation). */
export async function runsUsingDataset(db: StudioDatabase, id: string): Promise<number> {
	return db.runs.where('datasetId').equals(id).count();
}
