/**
 * Which built files the service worker precaches as the app shell — shared by the worker
 * (src/service-worker.ts) and `scripts/shell-size.mjs`, so the size the build reports is the size a
 * first visit downloads. Runtime assets (WebAssembly, source maps) are not shell: the feature that
 * uses one fetches it, and the worker keeps it then (hashed files under /_app/immutable/).
 */

/** Files only a feature fetches, never precached. */
export const RUNTIME_ASSET = /\.(wasm|map)$/i;

/** @param {string} path a URL path or file name */
export function isShellFile(path) {
	return !RUNTIME_ASSET.test(path);
}

/** Relative JS imports in built code: `from"./x.js"`, `import"./x.js"`, `import(`./x.js`)`. */
const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)[`'"](\.{1,2}\/[^`'"]+?\.js)[`'"]/g;

/**
 * The paths a built script imports by relative URL — how the service worker finds the model
 * worker's own chunks, which SvelteKit's `build` list does not name.
 * @param {string} code the script's text
 * @param {string} fromPath the script's URL path
 * @returns {string[]}
 */
export function relativeImports(code, fromPath) {
	const base = new URL(fromPath, 'http://shell.invalid');
	const out = new Set();
	for (const m of code.matchAll(RELATIVE_IMPORT)) out.add(new URL(m[1], base).pathname);
	return [...out];
}
