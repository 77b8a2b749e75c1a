/**
 * The adapter store: every adapter the studio keeps (trained, imported, shared, mixed) is a record
 * in `db.adapters` holding the two PEFT files Python loads (adapter_config.json +
 * adapter_model.safetensors). Saving, reading the files back, an adapter from a training
 * checkpoint, and a shared adapter's import all go through here.
 */
import type { Gemma2Config } from '../model/config';
import type { LoraAdapter } from '../lora/adapter';
import { exportPeftFiles, importPeftFolder, type ImportedAdapter } from '../lora/peft';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../lora/tensor-names';
import { downloadSharedAdapter, inspectSharedAdapter } from '../share/adapter-check';
import type { AdapterRef } from '../share/sources';
import { newId, type StudioDatabase } from './db';
import { writeWhole } from './storage-write';
import type { Adapter, Checkpoint } from './types';

/** The base model an adapter is saved for. */
export interface AdapterBase {
	db: StudioDatabase;
	config: Gemma2Config;
	/** Recorded on the adapter (hub repo id or local folder). */
	modelId: string;
}

/** Stores an adapter as the PEFT files Python loads (adapter_config.json + safetensors). */
export async function saveAdapterRecord(
	base: AdapterBase,
	adapter: LoraAdapter,
	info: {
		name: string;
		runId?: string;
		checkpointId?: string;
		origin: Adapter['origin'];
		metadata?: Record<string, string>;
	}
): Promise<string> {
	const files = exportPeftFiles(base.config, adapter, {
		baseModel: base.modelId,
		metadata: info.metadata
	});
	const configJson = new TextDecoder().decode(files[ADAPTER_CONFIG_FILE]);
	const parsed = JSON.parse(configJson) as {
		r: number;
		lora_alpha: number;
		target_modules: string[] | string;
	};
	const now = Date.now();
	const id = newId();
	// one record, whole or not at all; a full quota → StorageFullError naming the adapter
	await writeWhole(base.db, [base.db.adapters], info.name, () =>
		base.db.adapters.add({
			id,
			name: info.name,
			base: { model: base.modelId },
			origin: info.origin,
			configJson,
			weights: new Blob([files[ADAPTER_WEIGHTS_FILE] as Uint8Array<ArrayBuffer>]),
			r: parsed.r,
			loraAlpha: parsed.lora_alpha,
			targetModules: Array.isArray(parsed.target_modules)
				? parsed.target_modules
				: [parsed.target_modules],
			runId: info.runId,
			checkpointId: info.checkpointId,
			createdAt: now,
			updatedAt: now
		})
	);
	return id;
}

/** A stored adapter's PEFT files, by file name (what importPeftFolder and a zip take). */
export async function adapterFiles(record: Adapter): Promise<Map<string, Uint8Array>> {
	return new Map([
		[ADAPTER_CONFIG_FILE, new TextEncoder().encode(record.configJson)],
		[ADAPTER_WEIGHTS_FILE, new Uint8Array(await record.weights.arrayBuffer())]
	]);
}

/** A stored adapter as the host tensors (validated against the model's config). */
export async function loadStoredAdapter(
	config: Gemma2Config,
	record: Adapter
): Promise<ImportedAdapter> {
	return importPeftFolder(config, await adapterFiles(record));
}

/** Stores the adapter of a training checkpoint (to chat with a run's state at that step). */
export function saveCheckpointAdapter(
	base: AdapterBase,
	checkpoint: Checkpoint,
	name: string
): Promise<string> {
	const state = checkpoint.state as { adapter: LoraAdapter };
	return saveAdapterRecord(base, state.adapter, {
		name,
		runId: checkpoint.runId,
		checkpointId: checkpoint.id,
		origin: 'trained'
	});
}

/**
 * A shared adapter (hub repo or https folder): declared sizes checked, downloaded size-capped and
 * time-limited, validated like any PEFT
 * import and stored under `name`. With `reuse`, an adapter already imported under that name is
 * used as it is (so a share link works offline the second time).
 */
export async function importSharedAdapter(
	db: StudioDatabase,
	model: { config: Gemma2Config; id: string },
	ref: AdapterRef,
	opts: { name: string; hubBaseUrl?: string; reuse?: boolean }
): Promise<{ id: string; warnings: string[] }> {
	if (opts.reuse) {
		const stored = (await db.adapters.where('name').equals(opts.name).toArray()).find(
			(a) => a.origin === 'imported'
		);
		if (stored) return { id: stored.id, warnings: [] };
	}
	// Only ever called once the user asked for it (a share link's "Load it", an import): the
	// declared sizes are checked first, then the files are read with a cap and a deadline.
	const source = { hubBaseUrl: opts.hubBaseUrl };
	await inspectSharedAdapter(ref, source);
	const imported = importPeftFolder(model.config, await downloadSharedAdapter(ref, source));
	const id = await saveAdapterRecord(
		{ db, config: model.config, modelId: imported.baseModel ?? model.id },
		imported.adapter,
		{ name: opts.name, origin: 'imported', metadata: imported.metadata }
	);
	return { id, warnings: imported.warnings };
}
