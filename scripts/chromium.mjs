// Which Chromium the tests, the engine CLI and the benchmarks drive, and with which flags.
// CHROME_PATH wins; then Debian's /usr/bin/chromium; else Playwright's own browser (undefined).
import { existsSync } from 'node:fs';

export function chromiumPath() {
	if (process.env.CHROME_PATH) return process.env.CHROME_PATH;
	for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
		if (existsSync(p)) return p;
	}
	return undefined;
}

/** Flags that give WebGPU (SwiftShader where there is no GPU) and keep Chromium off the network. */
export const chromiumArgs = [
	'--enable-unsafe-webgpu',
	'--no-sandbox',
	'--disable-quic',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--no-first-run',
	'--disable-dev-shm-usage'
];
