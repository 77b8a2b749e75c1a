#!/usr/bin/env -S npx tsx
/**
 * `npm run bench`: speed and memory figures of the engine, printed and written to
 * docs/BENCHMARKS.md (the section between the BENCH markers is replaced). No assertions on time.
 *
 *   npm run bench                     # tiny model + Gemma-2 2B shapes (software: prefill 8, decode 2)
 *   npm run bench -- --node           # in Node on Dawn's WebGPU (the `webgpu` package), no browser
 *   npm run bench -- --decode 64      # decode steps of the 2B-shaped model
 *   npm run bench -- --prefill 128    # prefill tokens
 *   npm run bench -- --skip-2b        # tiny model and the bandwidth probe only
 *   npm run bench -- --no-write       # print only
 *   npm run bench -- --train-2b       # LoRA training of the 2B shapes even on a software adapter
 *   npm run bench -- --train-steps 3  # timed training steps per length (software 1, GPU 5)
 *   npm run bench -- --counts-only    # only the counted WebGPU calls of the 2B shapes (seconds)
 *   npm run bench -- --race-only      # only the MatMulNBits race (onnxruntime-web, Chromium only)
 *   npm run bench -- --race-m 128     # the race's GEMM token count (default 512; software 64)
 *   npm run bench -- --race-rounds 7  # the race's interleaved rounds (default 5)
 *   npm run bench -- --no-race        # the full bench without the race
 *   npm run bench -- --json FILE      # also the whole result as JSON
 *
 * Training: LoRA r=16 on all seven projections, batch 1, at 256 and 512 tokens (tiny model always;
 * 2B shapes on a GPU unless --skip-2b), reported against a peak-FMA probe (bench.ts fmaRate).
 *
 * MatMulNBits race: our q4 GEMV/GEMM against onnxruntime-web's WebGPU MatMulNBits on the same
 * device (scripts/engine-harness/race.ts; docs/BENCHMARKS.md, "MatMulNBits race").
 *
 * Both paths run scripts/engine-harness/bench.ts; the driver is scripts/engine-harness/bench-main.ts.
 * On a GPU machine without a browser or Node, see DEVELOPERS.md ("Benchmarks on a GPU machine
 * without a browser") and scripts/device-bench.sh.
 */
import { benchMain, type BenchRunner } from './engine-harness/bench-main';
import type { BenchOptions, BenchResult } from './engine-harness/bench';

type RunBench = (o: BenchOptions) => Promise<BenchResult>;

/** Headless Chromium (SwiftShader without a GPU) on a raw page that imports the bench module. */
async function browserRunner(): Promise<BenchRunner> {
	const { startHarness } = await import('./engine-harness/launch');
	const harness = await startHarness({
		module: '/scripts/engine-harness/bench.ts',
		readyFlag: 'benchReady',
		echoLog: true // progress lines
	});
	return {
		where: 'headless Chromium',
		adapterInfo: () =>
			harness.page.evaluate(async () => {
				const a = await navigator.gpu?.requestAdapter();
				return a
					? {
							vendor: a.info?.vendor ?? '',
							architecture: a.info?.architecture ?? '',
							description: a.info?.description ?? ''
						}
					: null;
			}),
		run: (opts) =>
			harness.page.evaluate(
				(o) => (globalThis as unknown as { runBench: RunBench }).runBench(o),
				opts
			),
		close: () => harness.close()
	};
}

/** This process, on Dawn: the bench module is loaded through Vite's SSR loader (for `?raw` WGSL). */
async function nodeRunner(): Promise<BenchRunner> {
	const { dawnRunner, installDawn } = await import('./engine-harness/dawn');
	const { loadHarnessModule } = await import('./engine-harness/node-launch');
	installDawn();
	const { mod, close } = await loadHarnessModule<{ runBench: RunBench }>(
		'/scripts/engine-harness/bench.ts'
	);
	return dawnRunner(mod.runBench, close);
}

benchMain(process.argv.slice(2), (node) => (node ? nodeRunner() : browserRunner())).then(
	() => process.exit(0),
	(e: unknown) => {
		console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
		process.exit(1);
	}
);
