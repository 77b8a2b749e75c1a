/// <reference lib="webworker" />
/** Parses and checks a picked PEFT adapter off the page's main thread (see peft-import.ts). */
import * as Comlink from 'comlink';
import { adapterBuffers, readPickedAdapter, type PeftImportWorker } from './peft-import';

const api: PeftImportWorker = {
	async read(config, picked) {
		const result = await readPickedAdapter(config, picked);
		return Comlink.transfer(result, adapterBuffers(result));
	}
};

Comlink.expose(api);
