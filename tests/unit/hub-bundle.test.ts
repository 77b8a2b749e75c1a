/**
 * What a published repo holds, gathered from the database: an adapter's PEFT bytes as stored, its
 * model card (training arguments, recipe, statistics table, loss image) and loss curve; a dataset's
 * JSONL splits with a card whose `configs` name them; the published copy remembered on the adapter.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { Adapter, Dataset, TrainingRun } from '../../src/lib/data/types';
import {
	adapterPublishFiles,
	datasetPublishFiles,
	recordPublished
} from '../../src/lib/export/publish-bundle';
import { lossCurveGeometry } from '../../src/lib/export/model-card';
import { publishedCopies, publishedRef, shareAdapterOf } from '../../src/lib/share/local-adapter';
import { defaultRecipe } from '../../src/lib/studio/dataset';

async function fixture() {
	const db = new StudioDatabase(`test-${newId()}`);
	const now = Date.now();
	const characterId = newId();
	await db.characters.add({
		id: characterId,
		name: 'Socrates',
		language: 'en',
		profile: '',
		styleNotes: '',
		exampleLines: [],
		prompt: '',
		origin: 'user',
		createdAt: now,
		updatedAt: now
	});
	const dialogueId = newId();
	await db.dialogues.add({
		id: dialogueId,
		characterId,
		language: 'en',
		turns: [],
		origin: 'generated',
		status: 'accepted',
		createdAt: now,
		updatedAt: now
	});
	const dataset: Dataset = {
		id: newId(),
		name: 'Socrates set',
		origin: 'user',
		recipe: defaultRecipe('en', { sources: { dialogueIds: [dialogueId] } }),
		train: [
			{
				messages: [
					{ role: 'user', content: 'What is virtue?' },
					{ role: 'model', content: 'Tell me.' }
				]
			}
		],
		eval: [
			{
				messages: [
					{ role: 'user', content: 'Hi' },
					{ role: 'model', content: 'Hello.' }
				]
			}
		],
		statistics: {
			examples: 2,
			totalTokens: 40,
			averageTokens: 20,
			maxTokens: 24,
			minTokens: 16,
			averageUserTokens: 9,
			averageModelTokens: 11,
			variant: 'none',
			tokenizer: 'gemma-2'
		},
		createdAt: now,
		updatedAt: now
	};
	await db.datasets.add(dataset);
	const run: TrainingRun = {
		id: newId(),
		name: 'run',
		base: { model: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC' },
		datasetId: dataset.id,
		trainingArgs: { learning_rate: 0.0002, num_train_epochs: 2 },
		loraConfig: { r: 8, lora_alpha: 16 },
		status: 'completed',
		metrics: [
			{ step: 1, epoch: 0.5, loss: 2.5, time: now },
			{ step: 2, epoch: 1, loss: 2.0, evalLoss: 2.2, time: now }
		],
		createdAt: now,
		updatedAt: now
	};
	await db.runs.add(run);
	const adapter: Adapter = {
		id: newId(),
		name: 'Socrates LoRA',
		base: { model: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC' },
		origin: 'trained',
		configJson: '{"r": 8}',
		weights: new Blob([new Uint8Array([1, 2, 3, 4])]),
		r: 8,
		loraAlpha: 16,
		targetModules: ['q_proj'],
		runId: run.id,
		createdAt: now,
		updatedAt: now
	};
	await db.adapters.add(adapter);
	return { db, dataset, adapter };
}

const textOf = async (files: { path: string; content: Blob }[], path: string) =>
	files.find((f) => f.path === path)!.content.text();

describe('publish bundles', () => {
	it('an adapter: PEFT bytes as stored, a card with its run and dataset, and the loss curve', async () => {
		const { db, adapter } = await fixture();
		const files = await adapterPublishFiles(db, adapter, {
			repo: 'alice/socrates',
			license: 'mit'
		});
		expect(files.map((f) => f.path)).toEqual([
			'adapter_config.json',
			'adapter_model.safetensors',
			'README.md',
			'loss.svg' // Node has no OffscreenCanvas; the browser writes loss.png (tests/e2e/hub-publish)
		]);
		expect(await textOf(files, 'adapter_config.json')).toBe('{"r": 8}');
		expect([...new Uint8Array(await files[1].content.arrayBuffer())]).toEqual([1, 2, 3, 4]);
		const card = await textOf(files, 'README.md');
		expect(card).toContain('base_model: "google/gemma-2-2b-jpn-it"');
		expect(card).toContain('  - "socrates"');
		expect(card).toContain('language:\n  - "en"');
		expect(card).toContain('license: "mit"');
		expect(card).toContain('![Training loss per step](loss.svg)');
		expect(card).toContain('Final training loss 2.0000 after 2 steps.');
		expect(card).toContain('| num_train_epochs | 2 |');
		expect(card).toContain('| shuffle seed | 42 |');
		expect(card).toContain('| total tokens | 40 |');
		expect(card).toContain('| train / eval examples | 1 / 1 |');
		const svg = await textOf(files, 'loss.svg');
		expect(svg).toMatch(/^<svg /);
		expect(svg).toContain('stroke-dasharray'); // the eval curve
	});

	it('a dataset: train/eval JSONL in the chat format and a card with configs naming both', async () => {
		const { db, dataset } = await fixture();
		const files = await datasetPublishFiles(db, dataset, { repo: 'alice/socrates-set' });
		expect(files.map((f) => f.path)).toEqual(['data/train.jsonl', 'data/eval.jsonl', 'README.md']);
		expect(JSON.parse((await textOf(files, 'data/train.jsonl')).trim())).toEqual({
			messages: [
				{ role: 'user', content: 'What is virtue?' },
				{ role: 'assistant', content: 'Tell me.' }
			]
		});
		const card = await textOf(files, 'README.md');
		expect(card).toContain(
			'configs:\n  - config_name: "default"\n    data_files:\n      - split: "train"\n        path: "data/train.jsonl"\n      - split: "eval"\n        path: "data/eval.jsonl"\n'
		);
		expect(card).toContain('load_dataset("alice/socrates-set")');
	});

	it('remembers published copies and offers them for a share link, newest first', async () => {
		const { db, adapter } = await fixture();
		const result = (revision: string) => ({
			repo: 'alice/socrates',
			type: 'model' as const,
			revision,
			url: '',
			created: true
		});
		await recordPublished(db, adapter.id, 'https://huggingface.co', result('a'.repeat(40)), false);
		await recordPublished(db, adapter.id, 'https://huggingface.co', result('b'.repeat(40)), true);
		const copies = publishedCopies(await db.adapters.get(adapter.id));
		expect(copies.map((c) => c.revision[0])).toEqual(['b', 'a']);
		expect(publishedRef(copies[0])).toBe(`hf:alice/socrates@${'b'.repeat(40)}`);
		// a local adapter must be decided about; one that came from a reference travels by it
		const local = { id: '1', name: 'mine' };
		expect(shareAdapterOf(local, null)).toEqual({ kind: 'local', adapter: local });
		expect(shareAdapterOf(local, 'hf:a/b')).toEqual({ kind: 'local', adapter: local });
		expect(shareAdapterOf({ id: '2', name: 'hf:a/b@v1' }, 'hf:a/b@v1')).toEqual({
			kind: 'ref',
			ref: 'hf:a/b@v1'
		});
		expect(shareAdapterOf({ id: '3', name: 'hf:org/imported' }, null)).toEqual({
			kind: 'ref',
			ref: 'hf:org/imported'
		});
		expect(shareAdapterOf(undefined, 'hf:a/b')).toEqual({ kind: 'ref', ref: 'hf:a/b' });
		expect(shareAdapterOf(undefined, null)).toEqual({ kind: 'ref', ref: null });
	});

	it('the loss curve geometry maps the lowest loss to the bottom and the last step to the right', () => {
		const g = lossCurveGeometry([
			{ step: 10, epoch: 1, loss: 3, time: 0 },
			{ step: 20, epoch: 2, loss: 1, time: 0 }
		])!;
		expect(g.train[0]).toEqual([g.plot.left, g.plot.top]);
		expect(g.train[1]).toEqual([g.plot.right, g.plot.bottom]);
		expect(lossCurveGeometry([{ step: 1, epoch: 0, time: 0 }])).toBeNull();
	});
});
