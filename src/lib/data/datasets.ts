/**
 * Datasets made from a file the user picked: a JSONL of {"messages": [...]} rows, split into
 * train and eval with the studio's seeded split. Invalid lines refuse the file (TrainingFileError
 * lists them by line) before anything is stored.
 */
import { splitTrainEval } from '../studio/dataset';
import { parseJsonl } from '../studio/formats';
import { newId, type StudioDatabase } from './db';

export async function importJsonlDataset(
	db: StudioDatabase,
	fileName: string,
	text: string
): Promise<string> {
	const parsed = parseJsonl(text);
	const split = splitTrainEval(parsed.examples, { seed: 42 });
	const now = Date.now();
	const id = newId();
	await db.datasets.add({
		id,
		name: fileName.replace(/\.jsonl?$/i, ''),
		origin: 'imported',
		train: split.train,
		eval: split.eval,
		createdAt: now,
		updatedAt: now
	});
	return id;
}
