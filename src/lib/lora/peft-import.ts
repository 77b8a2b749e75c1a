/**
 * Reading a picked PEFT adapter (a zip, or the files of a folder) into host tensors: the
 * safetensors parse and every value check (peft.ts) — about a second for a 300 MB adapter, so the
 * page runs it in a worker (peft-import.worker.ts, started by `readPickedAdapterOffThread`) and
 * Node (tests, the CLI) in its own thread.
 */
import * as Comlink from 'comlink';
import type { Gemma2Config } from '../model/config';
import { importPeftFolder, importPeftZip, type ImportedAdapter } from './peft';

export interface PickedAdapter {
	imported: ImportedAdapter;
	/** The name it is stored under: the zip's or the folder's. */
	name: string;
}

/** Parses and checks picked adapter files in this thread. */
export async function readPickedAdapter(
	config: Gemma2Config,
	picked: File[]
): Promise<PickedAdapter> {
	if (picked.length === 1 && /\.zip$/i.test(picked[0].name)) {
		// streamed: sizes are checked as bytes arrive (zip.ts), the file is never held inflated whole
		const imported = await importPeftZip(config, picked[0].stream());
		return { imported, name: picked[0].name.replace(/\.zip$/i, '') };
	}
	const files = new Map<string, Uint8Array>();
	for (const f of picked)
		files.set(f.webkitRelativePath || f.name, new Uint8Array(await f.arrayBuffer()));
	const name = picked[0]?.webkitRelativePath.split('/')[0] || 'imported adapter';
	return { imported: importPeftFolder(config, files), name };
}

/** The worker's side of the call (peft-import.worker.ts exposes it). */
export interface PeftImportWorker {
	read(config: Gemma2Config, picked: File[]): Promise<PickedAdapter>;
}

/** The tensors' buffers, each once: moved to the page instead of copied. */
export function adapterBuffers(a: PickedAdapter): ArrayBuffer[] {
	const buffers = new Set<ArrayBuffer>();
	for (const m of a.imported.adapter.modules.values())
		for (const t of [m.A, m.B]) buffers.add(t.buffer as ArrayBuffer);
	return [...buffers];
}

/** Same as readPickedAdapter, off the page's main thread where the platform has workers. */
export async function readPickedAdapterOffThread(
	config: Gemma2Config,
	picked: File[]
): Promise<PickedAdapter> {
	if (typeof Worker === 'undefined' || typeof window === 'undefined')
		return readPickedAdapter(config, picked);
	const worker = new Worker(new URL('./peft-import.worker.ts', import.meta.url), {
		type: 'module'
	});
	try {
		// a plain copy: the page's config may be a Svelte state proxy, which structured clone refuses
		const plain = JSON.parse(JSON.stringify(config)) as Gemma2Config;
		return await Comlink.wrap<PeftImportWorker>(worker).read(plain, picked);
	} finally {
		worker.terminate();
	}
}
