/**
 * The adapter store: every adapter the studio keeps (trained, imported, shared, mixed) is a record
 * in `db.adapters` holding the two PEFT files Python loads (adapter_config.json +
 * adapter_model.safetensors). Saving, reading the files back, an adapter from a training
 * checkpoint, imports (picked files, a shared reference), mixes, rename and delete all go
 * through here.
 *
 * One entry per distinct adapter: importing the same files twice, or chatting with the same
 * checkpoint twice, finds the entry already there. Two adapters are the same when their
 * adapter_config.json and their tensors (names, shapes, bytes; the safetensors `__metadata__`
 * aside) are the same: `adapterFingerprint`.
 */
import type { Gemma2Config } from '../model/config';
import { mixAdapters, type LoraAdapter } from '../lora/adapter';
import { exportPeftFiles, importPeftFolder, type ImportedAdapter } from '../lora/peft';
import { readPickedAdapterOffThread } from '../lora/peft-import';
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

const hex = (bytes: ArrayBuffer) =>
	[...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

/**
 * SHA-256 over the config text, the safetensors header without `__metadata__` (keys sorted) and
 * the tensor bytes. Throws on a file too short to be safetensors.
 */
export async function adapterFingerprint(configJson: string, weights: Uint8Array): Promise<string> {
	if (weights.length < 8)
		throw new Error('adapter_model.safetensors: shorter than its header size');
	const headerLength = Number(
		new DataView(weights.buffer, weights.byteOffset, 8).getBigUint64(0, true)
	);
	if (8 + headerLength > weights.length)
		throw new Error('adapter_model.safetensors: header longer than the file');
	const header = JSON.parse(
		new TextDecoder().decode(weights.subarray(8, 8 + headerLength))
	) as Record<string, unknown>;
	delete header.__metadata__;
	const tensors = JSON.stringify(
		Object.keys(header)
			.sort()
			.map((k) => [k, header[k]])
	);
	const prefix = new TextEncoder().encode(`${configJson}\u0000${tensors}\u0000`);
	const data = weights.subarray(8 + headerLength);
	const all = new Uint8Array(prefix.length + data.length);
	all.set(prefix);
	all.set(data, prefix.length);
	return hex(await crypto.subtle.digest('SHA-256', all));
}

/** The stored adapter with this fingerprint, if any (older entries without one are fingerprinted on the way). */
export async function findSameAdapter(
	db: StudioDatabase,
	fingerprint: string,
	configJson: string,
	weightsSize: number
): Promise<Adapter | undefined> {
	for (const a of await db.adapters.toArray()) {
		if (a.fingerprint === fingerprint) return a;
		if (a.fingerprint || a.configJson !== configJson || a.weights.size !== weightsSize) continue;
		const fp = await adapterFingerprint(
			a.configJson,
			new Uint8Array(await a.weights.arrayBuffer())
		);
		await db.adapters.update(a.id, { fingerprint: fp });
		if (fp === fingerprint) return a;
	}
	return undefined;
}

/**
 * Stores an adapter as the PEFT files Python loads (adapter_config.json + safetensors); returns
 * the id of an identical stored adapter instead of adding a second entry.
 */
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
	const weights = files[ADAPTER_WEIGHTS_FILE];
	const fingerprint = await adapterFingerprint(configJson, weights);
	const same = await findSameAdapter(base.db, fingerprint, configJson, weights.length);
	if (same) return same.id;
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
			weights: new Blob([weights as Uint8Array<ArrayBuffer>]),
			r: parsed.r,
			loraAlpha: parsed.lora_alpha,
			targetModules: Array.isArray(parsed.target_modules)
				? parsed.target_modules
				: [parsed.target_modules],
			runId: info.runId,
			checkpointId: info.checkpointId,
			fingerprint,
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

/** What an import did: the stored entry, the entry it turned out to be already, PEFT's warnings. */
export interface AdapterImport {
	id: string;
	existing?: Adapter;
	warnings: string[];
}

async function storeImported(
	base: AdapterBase,
	imported: ImportedAdapter,
	name: string
): Promise<AdapterImport> {
	const before = new Set(await base.db.adapters.toCollection().primaryKeys());
	const id = await saveAdapterRecord(
		{ ...base, modelId: imported.baseModel ?? base.modelId },
		imported.adapter,
		{ name, origin: 'imported', metadata: imported.metadata }
	);
	const existing = before.has(id) ? await base.db.adapters.get(id) : undefined;
	return { id, existing, warnings: imported.warnings };
}

/**
 * A picked PEFT zip, or the files of a picked PEFT folder; parsed and checked against the loaded
 * model off the page's main thread (lora/peft-import.ts), then stored.
 */
export async function importAdapterFiles(
	base: AdapterBase,
	picked: File[]
): Promise<AdapterImport> {
	const { imported, name } = await readPickedAdapterOffThread(base.config, picked);
	return storeImported(base, imported, name);
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
): Promise<AdapterImport> {
	if (opts.reuse) {
		const stored = (await db.adapters.where('name').equals(opts.name).toArray()).find(
			(a) => a.origin === 'imported'
		);
		if (stored) return { id: stored.id, existing: stored, warnings: [] };
	}
	// Only ever called once the user asked for it (a share link's "Load it", an import): the
	// declared sizes are checked first, then the files are read with a cap and a deadline.
	const source = { hubBaseUrl: opts.hubBaseUrl };
	await inspectSharedAdapter(ref, source);
	const files = [...(await downloadSharedAdapter(ref, source))].map(
		([name, bytes]) => new File([bytes as Uint8Array<ArrayBuffer>], name)
	);
	const { imported } = await readPickedAdapterOffThread(model.config, files);
	return storeImported({ db, config: model.config, modelId: model.id }, imported, opts.name);
}

/** Stores Σ weight·adapter (lora/adapter.ts mixAdapters) of the stored adapters with a non-zero weight. */
export async function saveAdapterMix(
	base: AdapterBase,
	parts: { adapter: Adapter; weight: number }[],
	name: string
): Promise<string> {
	const used = parts.filter((p) => p.weight !== 0 && Number.isFinite(p.weight));
	if (used.length === 0) throw new Error('a mix needs at least one adapter with a non-zero weight');
	const loaded: { adapter: LoraAdapter; weight: number }[] = [];
	for (const p of used)
		loaded.push({
			adapter: (await loadStoredAdapter(base.config, p.adapter)).adapter,
			weight: p.weight
		});
	const label = used.map((p) => `${p.weight}×${p.adapter.name}`).join(' + ');
	return saveAdapterRecord(base, mixAdapters(loaded), {
		name: name.trim() || label,
		origin: 'mixed',
		metadata: { mix: label }
	});
}

export async function renameAdapter(db: StudioDatabase, id: string, name: string): Promise<void> {
	const trimmed = name.trim();
	if (!trimmed) throw new Error('an adapter name cannot be empty');
	await db.adapters.update(id, { name: trimmed, updatedAt: Date.now() });
}

/** Deletes one adapter (its run and checkpoints stay: it can be saved again from them). */
export async function deleteAdapter(db: StudioDatabase, id: string): Promise<void> {
	await db.adapters.delete(id);
}
