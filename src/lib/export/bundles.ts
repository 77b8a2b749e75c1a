/**
 * The studio's export bundles, each with a README.md that says what it is (readme.ts):
 * - `<name>.zip`: a PEFT adapter folder (adapter_config.json, adapter_model.safetensors, README.md);
 * - `<name>-gguf.zip`: a GGUF LoRA for llama.cpp / Ollama / LM Studio (adapter.gguf, Modelfile,
 *   README.md);
 * - `<name>.zip` of a dataset: train.jsonl, eval.jsonl (when there is an eval split), README.md.
 * Zipped with fflate; binary tensors stored, text deflated.
 */
import { zipSync, type Zippable } from 'fflate';
import type { Adapter, Dataset, TrainingRun } from '../data/types';
import type { LoraAdapter } from '../lora/adapter';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, exportPeftFiles } from '../lora/peft';
import type { Gemma2Config } from '../model/config';
import { exportJsonl } from '../studio/formats';
import { safeFileName } from '../ui/download';
import { ggufBFactor, ggufLoraFile, readPeftForGguf, type GgufDtype } from './gguf-lora';
import { GGUF_ADAPTER_FILE, ollamaBase, ollamaModelfile } from './ollama';
import {
	datasetReadme,
	describeAdapterRecord,
	describePeftConfig,
	ggufReadme,
	peftReadme,
	type AdapterDescription
} from './readme';

export const README_FILE = 'README.md';
export const MODELFILE = 'Modelfile';

export interface ExportFile {
	name: string;
	data: Uint8Array;
}

const text = (s: string) => new TextEncoder().encode(s);

/** A zip of the files: binary ones stored (they do not compress), text deflated. */
export function zipFiles(files: ExportFile[]): Uint8Array {
	const z: Zippable = {};
	for (const f of files)
		z[f.name] = [f.data, { level: /\.(gguf|safetensors)$/.test(f.name) ? 0 : 6 }];
	return zipSync(z);
}

export interface GgufBundle {
	/** adapter.gguf (or `adapterFile`), Modelfile, README.md. */
	files: ExportFile[];
	/** Modules whose B carries the fold of PEFT's scale (rsLoRA, rank/alpha patterns). */
	foldedModules: string[];
}

/** The GGUF LoRA of an adapter with its Ollama Modelfile and README (see gguf-lora.ts). */
export function ggufBundle(
	adapter: LoraAdapter,
	d: AdapterDescription,
	opts: { dtype: GgufDtype; folderName: string; adapterFile?: string }
): GgufBundle {
	const adapterFile = opts.adapterFile ?? GGUF_ADAPTER_FILE;
	const gguf = ggufLoraFile(adapter, opts);
	const base = ollamaBase(d.baseModel);
	const foldedModules = [...adapter.modules.values()]
		.filter((m) => ggufBFactor(m, adapter.config.lora_alpha) !== 1)
		.map((m) => m.name);
	const readme = ggufReadme(d, { dtype: opts.dtype, base, foldedModules, adapterFile });
	return {
		files: [
			{ name: adapterFile, data: gguf },
			{ name: MODELFILE, data: text(ollamaModelfile(base, adapterFile)) },
			{ name: README_FILE, data: text(readme) }
		],
		foldedModules
	};
}

export interface NamedZip {
	fileName: string;
	bytes: Uint8Array;
}

/** `<name>-gguf.zip` of a stored adapter (and the run that trained it, for the README). */
export async function adapterGgufZip(
	a: Adapter,
	dtype: GgufDtype,
	run?: TrainingRun
): Promise<NamedZip> {
	const folderName = safeFileName(a.name);
	const adapter = readPeftForGguf(a.configJson, new Uint8Array(await a.weights.arrayBuffer()));
	const { files } = ggufBundle(adapter, describeAdapterRecord(a, run), { dtype, folderName });
	return { fileName: `${folderName}-gguf.zip`, bytes: zipFiles(files) };
}

/** A PEFT folder as a zip: adapter_config.json, adapter_model.safetensors and its README.md. */
function peftZip(
	folderName: string,
	configJson: string,
	weights: Uint8Array,
	d: AdapterDescription
) {
	return {
		fileName: `${folderName}.zip`,
		bytes: zipFiles([
			{ name: ADAPTER_CONFIG_FILE, data: text(configJson) },
			{ name: ADAPTER_WEIGHTS_FILE, data: weights },
			{ name: README_FILE, data: text(peftReadme(d, folderName)) }
		])
	};
}

/** `<name>.zip` of a stored adapter: the PEFT folder PeftModel.from_pretrained loads, + README.md. */
export async function adapterPeftZip(a: Adapter, run?: TrainingRun): Promise<NamedZip> {
	const weights = new Uint8Array(await a.weights.arrayBuffer());
	return peftZip(safeFileName(a.name), a.configJson, weights, describeAdapterRecord(a, run));
}

/** `<run>-step<N>.zip` of a training checkpoint's adapter, + README.md with the run's arguments. */
export function checkpointPeftZip(
	c: Gemma2Config,
	adapter: LoraAdapter,
	run: TrainingRun,
	step: number
): NamedZip {
	const files = exportPeftFiles(c, adapter, { baseModel: run.base.model });
	const configJson = new TextDecoder().decode(files[ADAPTER_CONFIG_FILE]);
	const d: AdapterDescription = {
		...describePeftConfig(`${run.name} (step ${step})`, configJson, run.base.model),
		origin: 'trained',
		trainingArgs: run.trainingArgs,
		runName: run.name
	};
	return peftZip(
		`${safeFileName(run.name)}-step${step}`,
		configJson,
		files[ADAPTER_WEIGHTS_FILE],
		d
	);
}

/** `<name>.zip` of a dataset: train.jsonl (+ eval.jsonl) in TRL's conversational format, + README.md. */
export function datasetZip(ds: Dataset): NamedZip {
	const names = { train: 'train.jsonl', eval: ds.eval.length ? 'eval.jsonl' : undefined };
	const files: ExportFile[] = [{ name: names.train, data: text(exportJsonl(ds.train)) }];
	if (names.eval) files.push({ name: names.eval, data: text(exportJsonl(ds.eval)) });
	files.push({ name: README_FILE, data: text(datasetReadme(ds, names)) });
	return { fileName: `${safeFileName(ds.name)}.zip`, bytes: zipFiles(files) };
}
