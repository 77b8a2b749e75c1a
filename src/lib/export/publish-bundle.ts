/**
 * What goes into a published repo, gathered from the studio's database: an adapter's PEFT files
 * exactly as stored (the bytes the PEFT export writes), its model card and loss curve; a dataset's
 * train/eval JSONL and its dataset card. Also where a published copy is remembered.
 */
import type { StudioDatabase } from '../data/db';
import type { Adapter, Dataset, PublishedCopy, TrainingRun } from '../data/types';
import { adapterFiles } from '../data/adapters';
import { exportJsonl } from '../studio/formats';
import type { PublishFile, PublishResult } from './hub-publish';
import { lossCurveImage } from './loss-image';
import { DATASET_EVAL_FILE, DATASET_TRAIN_FILE, adapterModelCard, datasetCard } from './model-card';

const text = (s: string, type = 'text/plain') => new Blob([s], { type });

/** The character a dataset was made from (through its dialogues), when it can be found. */
async function characterOf(db: StudioDatabase, dataset?: Dataset): Promise<string | undefined> {
	const first = dataset?.recipe?.sources.dialogueIds?.[0];
	if (!first) return undefined;
	const dialogue = await db.dialogues.get(first);
	return dialogue ? (await db.characters.get(dialogue.characterId))?.name : undefined;
}

/** Gemma-2 2B jpn-it speaks both; a recipe names the one its examples are in. */
const languagesOf = (dataset?: Dataset) =>
	dataset?.recipe ? [dataset.recipe.language] : ['ja', 'en'];

export interface AdapterBundleOptions {
	repo: string;
	license?: string;
	character?: string;
}

/** adapter_config.json, adapter_model.safetensors, README.md and the loss curve image. */
export async function adapterPublishFiles(
	db: StudioDatabase,
	adapter: Adapter,
	options: AdapterBundleOptions
): Promise<PublishFile[]> {
	const run: TrainingRun | undefined = adapter.runId ? await db.runs.get(adapter.runId) : undefined;
	const dataset = run?.datasetId ? await db.datasets.get(run.datasetId) : undefined;
	const image = run ? await lossCurveImage(run.metrics) : null;
	const losses = run?.metrics.filter((m) => Number.isFinite(m.loss)) ?? [];
	const card = adapterModelCard({
		repo: options.repo,
		baseModel: adapter.base.model,
		name: adapter.name,
		character: options.character ?? (await characterOf(db, dataset)),
		languages: languagesOf(dataset),
		license: options.license,
		r: adapter.r,
		loraAlpha: adapter.loraAlpha,
		targetModules: adapter.targetModules,
		trainingArgs: run?.trainingArgs,
		loraConfig: run?.loraConfig,
		recipe: dataset?.recipe,
		statistics: dataset?.statistics,
		counts: dataset ? { train: dataset.train.length, eval: dataset.eval.length } : undefined,
		lossImage: image?.path,
		finalLoss: losses.at(-1)?.loss,
		steps: losses.at(-1)?.step
	});
	// the PEFT files exactly as the studio's export writes them
	const peft = [...(await adapterFiles(adapter))].map(([path, bytes]) => ({
		path,
		content: new Blob([bytes as Uint8Array<ArrayBuffer>])
	}));
	return [
		...peft,
		{ path: 'README.md', content: text(card, 'text/markdown') },
		...(image ? [image] : [])
	];
}

/** data/train.jsonl, data/eval.jsonl (when there is an eval split) and README.md. */
export async function datasetPublishFiles(
	db: StudioDatabase,
	dataset: Dataset,
	options: { repo: string; license?: string; character?: string }
): Promise<PublishFile[]> {
	const card = datasetCard({
		repo: options.repo,
		name: dataset.name,
		character: options.character ?? (await characterOf(db, dataset)),
		languages: languagesOf(dataset),
		license: options.license,
		recipe: dataset.recipe,
		statistics: dataset.statistics,
		counts: { train: dataset.train.length, eval: dataset.eval.length }
	});
	return [
		{ path: DATASET_TRAIN_FILE, content: text(exportJsonl(dataset.train), 'application/jsonl') },
		...(dataset.eval.length
			? [{ path: DATASET_EVAL_FILE, content: text(exportJsonl(dataset.eval), 'application/jsonl') }]
			: []),
		{ path: 'README.md', content: text(card, 'text/markdown') }
	];
}

/** Remember a published copy on the adapter record (a share link can then name it). */
export async function recordPublished(
	db: StudioDatabase,
	adapterId: string,
	hubUrl: string,
	result: PublishResult,
	isPrivate: boolean
): Promise<PublishedCopy> {
	const copy: PublishedCopy = {
		hubUrl,
		repo: result.repo,
		revision: result.revision,
		private: isPrivate,
		at: Date.now()
	};
	await db.adapters
		.where('id')
		.equals(adapterId)
		.modify((a) => {
			a.published = [...(a.published ?? []), copy];
		});
	return copy;
}
