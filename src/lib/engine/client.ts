/**
 * The one typed client of the engine worker. The app creates the worker once; every page calls
 * `engine()` and talks to the same worker (one device, one copy of the weights).
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../../workers/engine-api';

let remote: Comlink.Remote<EngineApi> | undefined;
let worker: Worker | undefined;

export function engine(): Comlink.Remote<EngineApi> {
	if (!remote) {
		worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), {
			type: 'module',
			name: 'mondo-engine'
		});
		remote = Comlink.wrap<EngineApi>(worker);
	}
	return remote;
}

/** Ends the worker (tests; or after a lost device, to start fresh). */
export function terminateEngine(): void {
	worker?.terminate();
	worker = undefined;
	remote = undefined;
}
