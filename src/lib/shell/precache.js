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
