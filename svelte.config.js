import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A static single-page app: every route falls back to index.html, nothing needs a server.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
		// Content-Security-Policy, written by SvelteKit into the page as a <meta> tag with the hashes of
		// its own inline scripts. A meta CSP cannot set frame-ancestors (nor report-uri, sandbox): a
		// host that can send headers should add `frame-ancestors 'none'` there.
		csp: {
			mode: 'hash',
			directives: {
				'default-src': ['self'],
				// ORT / transformers.js compile WebAssembly
				'script-src': ['self', 'wasm-unsafe-eval'],
				'worker-src': ['self', 'blob:'],
				// the hub and its file CDN (https; also publishing: its API and LFS storage), a mirror,
				// a local judge or Hub stand-in on this machine
				'connect-src': ['self', 'https:', 'http://localhost:*', 'http://127.0.0.1:*'],
				'img-src': ['self', 'data:', 'blob:'],
				// Svelte writes style attributes and transitions inline
				'style-src': ['self', 'unsafe-inline'],
				'font-src': ['self'],
				'manifest-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		}
	}
};

export default config;
