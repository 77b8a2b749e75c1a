/**
 * The one typed client of the model worker. The app creates the worker once; every page calls
 * `worker()` and talks to the same worker (one device, one copy of the weights). Typed session
 * errors (`$lib/session/errors`) come back as themselves, with their code and parameters.
 */
import * as Comlink from 'comlink';
import { registerSessionErrorTransfer } from '../session/errors';
import type { WorkerApi } from './api';

let remote: Comlink.Remote<WorkerApi> | undefined;
let thread: Worker | undefined;

export function worker(): Comlink.Remote<WorkerApi> {
	if (!remote) {
		registerSessionErrorTransfer();
		thread = new Worker(new URL('./model.worker.ts', import.meta.url), {
			type: 'module',
			name: 'mondo-model'
		});
		remote = Comlink.wrap<WorkerApi>(thread);
	}
	return remote;
}

/** Ends the worker (tests; or after a lost device, to start fresh). */
export function terminateWorker(): void {
	thread?.terminate();
	thread = undefined;
	remote = undefined;
}
