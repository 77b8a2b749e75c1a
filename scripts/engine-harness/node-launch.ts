/**
 * Loads a harness module into this Node process through Vite's SSR module loader, so the engine's
 * `?raw` WGSL imports resolve exactly as in the browser (plain tsx cannot load them). The module
 * graph runs in this process: Dawn's globals (scripts/engine-harness/dawn.ts) must be installed first.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

/** `module` is the path from the repo root, e.g. '/scripts/engine-harness/bench.ts'. */
export async function loadHarnessModule<T>(
	module: string
): Promise<{ mod: T; close(): Promise<void> }> {
	const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
	const server = await createServer({
		configFile: false,
		root: repo,
		logLevel: 'error',
		clearScreen: false,
		appType: 'custom',
		server: { middlewareMode: true, hmr: false, watch: null },
		optimizeDeps: { noDiscovery: true, include: [] },
		// `webgpu` (dawn.node) stays a plain Node import, shared with the caller's instance.
		ssr: { external: ['webgpu'] }
	});
	try {
		const mod = (await server.ssrLoadModule(module)) as T;
		return { mod, close: () => server.close() };
	} catch (e) {
		await server.close();
		throw e;
	}
}
