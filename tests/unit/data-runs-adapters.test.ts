import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { newId, StudioDatabase } from '../../src/lib/data/db';
import { createRun, deleteRun, renameRun } from '../../src/lib/data/runs';
import {
	adapterFingerprint,
	deleteAdapter,
	renameAdapter,
	saveAdapterRecord
} from '../../src/lib/data/adapters';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS, SEED_PRESET, TrainingConfigError } from '../../src/lib/lora/config';
import { exportPeftFiles } from '../../src/lib/lora/peft';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

const fresh = () => new StudioDatabase(`test-${newId()}`);
const run = (over: Partial<typeof SEED_PRESET.training> = {}) => ({
	name: 'socrates',
	modelId: 'tiny',
	datasetId: 'd1',
	training: { ...SEED_PRESET.training, ...over },
	lora: SEED_PRESET.lora
});

describe('training runs', () => {
	it('an invalid argument writes no run', async () => {
		const db = fresh();
		await expect(createRun(db, run({ learning_rate: -1 }))).rejects.toThrow(TrainingConfigError);
		expect(await db.runs.count()).toBe(0);
		const id = await createRun(db, run());
		expect((await db.runs.get(id))?.status).toBe('queued');
		db.close();
	});

	it('rename keeps the run; delete takes its checkpoints and nothing else', async () => {
		const db = fresh();
		const id = await createRun(db, run());
		const other = await createRun(db, run());
		await renameRun(db, id, '  Socrates, take 2 ');
		expect((await db.runs.get(id))?.name).toBe('Socrates, take 2');
		await expect(renameRun(db, id, '   ')).rejects.toThrow(/empty/);
		const checkpoint = (runId: string, step: number) => ({
			id: newId(),
			runId,
			step,
			state: {},
			dataPosition: { epoch: 0, batchInEpoch: 0 },
			metrics: {},
			createdAt: Date.now()
		});
		await db.checkpoints.bulkAdd([checkpoint(id, 2), checkpoint(id, 4), checkpoint(other, 2)]);
		const adapterId = await saveAdapterRecord(
			{ db, config: TINY_CONFIG, modelId: 'tiny' },
			createLoraAdapter(TINY_CONFIG, { ...LORA_DEFAULTS, r: 2 }, 1),
			{ name: 'from the run', runId: id, origin: 'trained' }
		);
		await deleteRun(db, id);
		expect(await db.runs.get(id)).toBeUndefined();
		expect(await db.checkpoints.where('runId').equals(id).count()).toBe(0);
		expect(await db.checkpoints.where('runId').equals(other).count()).toBe(1);
		expect(await db.runs.get(other)).toBeDefined();
		expect(await db.adapters.get(adapterId)).toBeDefined();
		db.close();
	});
});

describe('stored adapters', () => {
	const adapter = createLoraAdapter(TINY_CONFIG, { ...LORA_DEFAULTS, r: 2, lora_alpha: 4 }, 7);
	const ctx = (db: StudioDatabase) => ({ db, config: TINY_CONFIG, modelId: 'tiny' });

	it('the same adapter saved twice (import twice, chat with a checkpoint twice) is one entry', async () => {
		const db = fresh();
		const a = await saveAdapterRecord(ctx(db), adapter, { name: 'first', origin: 'imported' });
		const b = await saveAdapterRecord(ctx(db), adapter, {
			name: 'again',
			origin: 'trained',
			metadata: { run: 'x' }
		});
		expect(b).toBe(a);
		expect(await db.adapters.count()).toBe(1);
		// a different adapter is a new entry
		const other = createLoraAdapter(TINY_CONFIG, { ...LORA_DEFAULTS, r: 2, lora_alpha: 4 }, 8);
		other.modules.values().next().value!.B[0] = 0.5;
		expect(await saveAdapterRecord(ctx(db), other, { name: 'other', origin: 'imported' })).not.toBe(
			a
		);
		expect(await db.adapters.count()).toBe(2);
		db.close();
	});

	it('an entry stored before fingerprints existed is still found', async () => {
		const db = fresh();
		const a = await saveAdapterRecord(ctx(db), adapter, { name: 'old', origin: 'imported' });
		await db.adapters.update(a, { fingerprint: undefined });
		expect(await saveAdapterRecord(ctx(db), adapter, { name: 'new', origin: 'imported' })).toBe(a);
		expect((await db.adapters.get(a))?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
		db.close();
	});

	it('the fingerprint ignores safetensors metadata but not the tensors or the config', async () => {
		const files = (metadata: Record<string, string>) =>
			exportPeftFiles(TINY_CONFIG, adapter, { baseModel: 'tiny', metadata });
		const cfg = new TextDecoder().decode(files({})['adapter_config.json']);
		const fp = await adapterFingerprint(cfg, files({})['adapter_model.safetensors']);
		expect(await adapterFingerprint(cfg, files({ seed: '1' })['adapter_model.safetensors'])).toBe(
			fp
		);
		expect(
			await adapterFingerprint(
				cfg.replace('"r": 2', '"r": 3'),
				files({})['adapter_model.safetensors']
			)
		).not.toBe(fp);
		await expect(adapterFingerprint(cfg, new Uint8Array(4))).rejects.toThrow(/safetensors/);
	});

	it('rename and delete', async () => {
		const db = fresh();
		const a = await saveAdapterRecord(ctx(db), adapter, { name: 'x', origin: 'imported' });
		await renameAdapter(db, a, 'ソクラテス');
		expect((await db.adapters.get(a))?.name).toBe('ソクラテス');
		await deleteAdapter(db, a);
		expect(await db.adapters.count()).toBe(0);
		db.close();
	});
});
