/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The studio's service worker: it keeps the app shell — the built pages, scripts and styles, the
 * static files and the page itself, less runtime assets (`$lib/shell/precache.js`) — in one cache per
 * deployed version, and serves them cache-first, so a studio visited once reloads with no network (a
 * classroom, a train). `node scripts/shell-size.mjs` reports what a first visit downloads.
 *
 * It deliberately touches nothing else. Model and adapter files live in their own caches
 * (`mondo-hub:*`, written by src/lib/model/hub.ts, with resume and verification) and are never
 * intercepted here: no cross-origin request, nothing under /models/ or /hub/, no API call, no
 * non-GET request passes through this worker's cache.
 */
import { base, build, files, version } from '$service-worker';
import { isShellFile, relativeImports } from '$lib/shell/precache.js';

const sw = self as unknown as ServiceWorkerGlobalScope;

/** Every cache of this worker starts with this; hub.ts's caches start with `mondo-hub:`. */
const SHELL_PREFIX = 'mondo-shell:';
const SHELL_CACHE = `${SHELL_PREFIX}${version}`;
/** The SPA page (adapter-static's fallback) answers every navigation. */
const PAGE = `${base}/`;
const SHELL = [PAGE, ...[...build, ...files].filter(isShellFile)];
const SHELL_SET = new Set(SHELL);

sw.addEventListener('install', (event) => {
	event.waitUntil(
		(async () => {
			const cache = await caches.open(SHELL_CACHE);
			// `cache: 'reload'` so the shell of a new version is never taken from the HTTP cache
			await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
			await addWorkerChunks(cache);
			await sw.skipWaiting();
		})()
	);
});

/**
 * The model worker's own chunks (the training stack, loaded when a run starts) are not in `build`:
 * found by following the worker scripts' relative imports, so they work offline too.
 */
async function addWorkerChunks(cache: Cache) {
	const queue = SHELL.filter((p) => p.startsWith(`${base}/_app/immutable/workers/`));
	const seen = new Set(SHELL);
	while (queue.length) {
		const path = queue.pop()!;
		const response = await cache.match(path);
		if (!response) continue;
		for (const next of relativeImports(await response.text(), path)) {
			if (seen.has(next) || !isShellFile(next)) continue;
			seen.add(next);
			await cache.add(new Request(next, { cache: 'reload' }));
			queue.push(next);
		}
	}
}

sw.addEventListener('activate', (event) => {
	event.waitUntil(
		(async () => {
			for (const name of await caches.keys())
				if (name.startsWith(SHELL_PREFIX) && name !== SHELL_CACHE) await caches.delete(name);
			await sw.clients.claim();
		})()
	);
});

/** Paths whose responses belong to someone else (model files, the classroom mirror). */
function passThrough(pathname: string): boolean {
	return [`${base}/models/`, `${base}/hub/`, `${base}/api/`].some((p) => pathname.startsWith(p));
}

sw.addEventListener('fetch', (event) => {
	const request = event.request;
	if (request.method !== 'GET') return;
	const url = new URL(request.url);
	if (url.origin !== sw.location.origin || passThrough(url.pathname)) return;
	if (request.headers.has('range')) return;

	// Hashed build outputs not precached (runtime assets, or files `build` does not list) are kept
	// the first time a feature fetches them: immutable, so cache-first is always right.
	const isShellFile =
		SHELL_SET.has(url.pathname) || url.pathname.startsWith(`${base}/_app/immutable/`);
	const isPage = request.mode === 'navigate';
	if (!isShellFile && !isPage) return;

	event.respondWith(
		(async () => {
			const cache = await caches.open(SHELL_CACHE);
			const cached = await cache.match(isPage ? PAGE : url.pathname);
			if (cached) return cached;
			// Not cached yet (first visit while installing): the network, and keep it for next time.
			const response = await fetch(request);
			if (response.ok && isShellFile) await cache.put(url.pathname, response.clone());
			return response;
		})()
	);
});
