import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath } from './scripts/chromium.mjs';

// E2E_PORT lets two runs (or a dev server) coexist on one machine.
const PORT = Number(process.env.E2E_PORT ?? 4179);

// Spec files run two at a time (E2E_WORKERS to change it): each worker has its own browser, so its
// own GPU process, and most of a test's time is one busy thread (SwiftShader compiling a pipeline,
// the page's JS), so two workers keep CI's two cores busy. Tests within a file stay in order.
const WORKERS = Number(process.env.E2E_WORKERS ?? 2);

// End-to-end tests run against the BUILT static app (npm run build first; npm test does it).
export default defineConfig({
	testDir: 'tests/e2e',
	// a guard against a hung test, not a speed check: generous, since two workers share the cores
	timeout: 240_000,
	expect: { timeout: 30_000 },
	fullyParallel: false,
	workers: WORKERS,
	retries: 0,
	reporter: [['list']],
	use: {
		baseURL: `http://127.0.0.1:${PORT}`,
		launchOptions: { executablePath: chromiumPath(), args: chromiumArgs },
		trace: 'retain-on-failure'
	},
	projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
	webServer: {
		command: `node scripts/serve.mjs --port ${PORT} --models fixtures`,
		url: `http://127.0.0.1:${PORT}/`,
		reuseExistingServer: false,
		timeout: 30_000
	}
});
