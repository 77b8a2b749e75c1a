/**
 * Datasets made from a file the user picked on the Train page: a JSONL of {"messages": [...]} rows,
 * read and parsed once off the main thread (studio/training-file.ts), split into train and eval
 * with the studio's seeded split, and stored whole or not at all (dataset-store's createDataset).
 * Invalid lines refuse the file (TrainingFileError lists them by line) before anything is stored.
 */
import { splitTrainEval } from '../studio/dataset';
import { createDataset } from '../studio/dataset-store';
import { TrainingFileError } from '../studio/formats';
import { readTrainingFile } from '../studio/training-file';
import type { StudioDatabase } from './db';

export async function importJsonlDataset(db: StudioDatabase, file: File): Promise<string> {
	const parsed = await readTrainingFile(file);
	if (parsed.skipped.length) throw new TrainingFileError('jsonl', parsed.skipped);
	const split = splitTrainEval(parsed.examples, { seed: 42 });
	const dataset = await createDataset(db, {
		name: file.name.replace(/\.jsonl?$/i, ''),
		origin: 'imported',
		train: split.train,
		eval: split.eval
	});
	return dataset.id;
}
