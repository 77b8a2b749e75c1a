/**
 * Starts what the engine CLI and the benchmarks run on: a Vite server for the engine sources (and a
 * model folder under /__model/), and headless Chromium with WebGPU on a raw page that imports one
 * harness module. The page is served raw so Vite does not inject its HMR client (which reloads the
 * page when its websocket fails); the module graph behind it is still transformed by Vite.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../chromium.mjs';

function harnessPage(module: string): Plugin {
	return {
		name: 'engine-harness-page',
		configureServer(server) {
			server.middlewares.use('/__harness', (_req, res) => {
				res.setHeader('Content-Type', 'text/html; charset=utf-8');
				res.end(
					`<!doctype html><meta charset="utf-8"><title>engine harness</title><script type="module" src="${module}"></script>`
				);
			});
		}
	};
}

/** Serves one folder under a URL prefix, with Range requests. */
function serveFolder(prefix: string, dir: string): Plugin {
	const root = resolve(dir);
	return {
		name: `serve-folder${prefix}`,
		configureServer(server) {
			server.middlewares.use(prefix, (req, res) => {
				const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
				const file = normalize(join(root, path));
				if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
					res.statusCode = 404;
					res.end('not found');
					return;
				}
				const size = statSync(file).size;
				const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
				if (m) {
					const start = Number(m[1]);
					const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
					res.statusCode = 206;
					res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
					res.setHeader('Content-Length', end - start + 1);
					createReadStream(file, { start, end }).pipe(res);
					return;
				}
				res.setHeader('Content-Length', size);
				res.setHeader('Accept-Ranges', 'bytes');
				createReadStream(file).pipe(res);
			});
		}
	};
}

export interface Harness {
	page: Page;
	close(): Promise<void>;
}

/**
 * `module` is the harness module's path from the repo root (e.g. '/scripts/engine-harness/harness.ts');
 * it must set `globalThis[readyFlag] = true` once loaded.
 */
export async function startHarness(opts: {
	module: string;
	readyFlag: string;
	modelDir?: string;
	/** More folders to serve: URL prefix (e.g. '/__adapter') → folder. */
	folders?: Record<string, string>;
	/** Echo the page's console.log lines to stderr (training progress). */
	echoLog?: boolean;
}): Promise<Harness> {
	const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
	// tsconfig.json extends .svelte-kit/tsconfig.json, which a fresh clone has not generated yet
	if (!existsSync(join(repo, '.svelte-kit', 'tsconfig.json')))
		spawnSync(join(repo, 'node_modules', '.bin', 'svelte-kit'), ['sync'], {
			cwd: repo,
			stdio: 'inherit'
		});
	let server: ViteDevServer | undefined;
	let browser: Browser | undefined;
	const close = async () => {
		await browser?.close();
		await server?.close();
	};
	try {
		const plugins = [harnessPage(opts.module)];
		if (opts.modelDir) plugins.push(serveFolder('/__model', opts.modelDir));
		for (const [prefix, dir] of Object.entries(opts.folders ?? {}))
			plugins.push(serveFolder(prefix, dir));
		server = await createServer({
			configFile: false,
			root: repo,
			logLevel: 'error',
			clearScreen: false,
			server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
			optimizeDeps: { noDiscovery: true, include: [] },
			plugins
		});
		await server.listen();
		const address = server.httpServer?.address();
		const port = typeof address === 'object' && address ? address.port : 0;
		browser = await chromium.launch({
			executablePath: chromiumPath(),
			args: chromiumArgs,
			headless: true
		});
		const page = await browser.newPage();
		page.on('console', (m) => {
			// 404s are the loaders probing which layout a folder has; not worth a line.
			if (/Failed to load resource.*404/.test(m.text())) return;
			if (m.type() === 'error' || m.type() === 'warning')
				console.error(`[browser ${m.type()}] ${m.text()}`);
			else if (m.type() === 'log' && opts.echoLog) console.error(m.text());
		});
		page.on('pageerror', (e) => console.error(`[browser] ${e.message}`));
		await page.goto(`http://127.0.0.1:${port}/__harness`);
		await page.waitForFunction(
			(flag) => (globalThis as Record<string, unknown>)[flag] === true,
			opts.readyFlag,
			{ timeout: 120_000 }
		);
		return { page, close };
	} catch (e) {
		await close();
		throw e;
	}
}
