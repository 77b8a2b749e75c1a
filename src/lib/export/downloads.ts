/**
 * Browser downloads of the export bundles (bundles.ts): look up what the README needs (the run that
 * trained an adapter), build the zip, hand it to the browser. The pages only call these.
 */
import type { Adapter, Checkpoint, Dataset, TrainingRun } from '../data/types';
import type { Gemma2Config } from '../model/config';
import type { TrainerState } from '../training/trainer';
import type { StudioDatabase } from '../data/db';
import { downloadBlob } from '../ui/download';
import {
	adapterGgufZip,
	adapterPeftZip,
	checkpointPeftZip,
	datasetZip,
	type NamedZip
} from './bundles';
import type { GgufDtype } from './gguf-lora';

const save = (z: NamedZip) =>
	downloadBlob(
		z.fileName,
		new Blob([z.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' })
	);

async function runOf(db: StudioDatabase, a: Adapter) {
	return a.runId ? db.runs.get(a.runId) : undefined;
}

/** `<name>.zip`: adapter_config.json, adapter_model.safetensors, README.md. */
export async function downloadAdapterPeftZip(db: StudioDatabase, a: Adapter): Promise<void> {
	save(await adapterPeftZip(a, await runOf(db, a)));
}

/** `<name>-gguf.zip`: adapter.gguf, Modelfile, README.md. */
export async function downloadAdapterGgufZip(
	db: StudioDatabase,
	a: Adapter,
	dtype: GgufDtype
): Promise<void> {
	save(await adapterGgufZip(a, dtype, await runOf(db, a)));
}

/** `<name>.zip`: train.jsonl, eval.jsonl, README.md. */
export function downloadDatasetZip(ds: Dataset): void {
	save(datasetZip(ds));
}

/** `<run>-step<N>.zip`: a checkpoint's adapter as a PEFT folder + README.md. */
export function downloadCheckpointPeftZip(c: Gemma2Config, run: TrainingRun, ck: Checkpoint): void {
	save(checkpointPeftZip(c, (ck.state as TrainerState).adapter, run, ck.step));
}
