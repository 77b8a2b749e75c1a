/**
 * `npm run engine -- export-gguf`: a PEFT adapter (folder or zip) → a GGUF LoRA for llama.cpp /
 * Ollama, with an Ollama Modelfile and a README.md beside it. Runs in Node alone (no browser, no
 * GPU, no base model): the same code as the Adapters page (src/lib/export).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { ggufBundle } from '../src/lib/export/bundles';
import { readPeftFilesForGguf, type GgufDtype } from '../src/lib/export/gguf-lora';
import { describePeftConfig } from '../src/lib/export/readme';
import { ADAPTER_CONFIG_FILE } from '../src/lib/lora/peft';

/** The studio's default base model, for an adapter_config.json without base_model_name_or_path. */
const DEFAULT_BASE = 'google/gemma-2-2b-jpn-it';

/** A PEFT folder's files, from the folder itself or from a zip of it (entries may sit in a folder). */
function readAdapterFiles(source: { dir: string; zip?: string }): Map<string, Uint8Array> {
	if (source.zip) {
		const bytes = new Uint8Array(readFileSync(join(source.dir, source.zip)));
		return new Map(Object.entries(unzipSync(bytes)));
	}
	const files = new Map<string, Uint8Array>();
	for (const f of readdirSync(source.dir))
		if (/\.(json|safetensors)$/.test(f))
			files.set(f, new Uint8Array(readFileSync(join(source.dir, f))));
	return files;
}

export interface ExportGgufResult {
	written: string[];
	modules: number;
	foldedModules: string[];
}

/** Writes FILE.gguf and, in its folder, Modelfile and README.md (which name FILE.gguf). */
export function exportGguf(opts: {
	source: { dir: string; zip?: string };
	out: string;
	dtype: GgufDtype;
}): ExportGgufResult {
	const files = readAdapterFiles(opts.source);
	const adapter = readPeftFilesForGguf(files);
	const folderName = opts.source.zip
		? opts.source.zip.replace(/\.zip$/i, '')
		: basename(resolve(opts.source.dir));
	const configEntry = [...files.keys()].find((k) => basename(k) === ADAPTER_CONFIG_FILE)!;
	const description = describePeftConfig(
		folderName,
		new TextDecoder().decode(files.get(configEntry)),
		DEFAULT_BASE
	);
	const out = resolve(opts.out);
	const bundle = ggufBundle(adapter, description, {
		dtype: opts.dtype,
		folderName,
		adapterFile: basename(out)
	});
	mkdirSync(dirname(out), { recursive: true });
	const written = bundle.files.map((f) => {
		const path = join(dirname(out), f.name);
		writeFileSync(path, f.data);
		return path;
	});
	return { written, modules: adapter.modules.size, foldedModules: bundle.foldedModules };
}
