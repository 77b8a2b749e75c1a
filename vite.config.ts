import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumArgs, chromiumPath } from './scripts/chromium.mjs';

export default defineConfig({
	plugins: [sveltekit()],
	worker: { format: 'es' },
	// Pre-bundled up front so the first test or page that imports them does not trigger a reload
	// (a reload mid-run breaks the gpu layer's one shared iframe; onnxruntime-web: the race test).
	optimizeDeps: {
		include: [
			'@huggingface/tokenizers',
			'@huggingface/jinja',
			'comlink',
			'dexie',
			'onnxruntime-web/webgpu'
		]
	},
	server: { fs: { allow: ['fixtures'] } },
	test: {
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					environment: 'node',
					include: ['tests/unit/**/*.test.ts']
				}
			},
			{
				extends: true,
				test: {
					name: 'gpu',
					include: ['tests/gpu/**/*.test.ts'],
					// guards against a hang, not speed checks: a test that is first to use a kernel compiles
					// it (SwiftShader: up to a minute on a loaded machine)
					testTimeout: 240_000,
					hookTimeout: 240_000,
					fileParallelism: false,
					// One iframe for all files: the harness's one device (testDevice) and the pipelines
					// compiled on it are shared by every file instead of compiled again per file
					// (SwiftShader compiles a big kernel in tens of seconds: most of this layer's time).
					isolate: false,
					browser: {
						enabled: true,
						headless: true,
						screenshotFailures: false,
						provider: playwright({
							launchOptions: { executablePath: chromiumPath(), args: chromiumArgs }
						}),
						instances: [{ browser: 'chromium' }]
					}
				}
			},
			{
				extends: true,
				test: {
					// The kernel tests again, in Node on Dawn + Vulkan (lavapipe in CI): see tests/gpu-node/dawn.ts.
					name: 'gpu-node',
					environment: 'node',
					include: ['tests/gpu-node/**/*.test.ts'],
					testTimeout: 120_000,
					hookTimeout: 120_000,
					fileParallelism: false
				}
			}
		]
	}
});
