/**
 * Entry of the bundled Node benchmark (`.node/bench-node.mjs`, built by scripts/build-bench-node.mjs)
 * for GPU machines that have neither a browser nor node_modules: the same driver and the same
 * scripts/engine-harness/bench.ts as `npm run bench -- --node`, with the WGSL inlined and only
 * `webgpu` (dawn.node) left as an import. Run it from the repo root (it writes docs/BENCHMARKS.md):
 *
 *   node .node/bench-node.mjs [--skip-2b] [--decode N] [--prefill N] [--train-2b] [--train-steps N] [--no-write]
 *
 * Not loadable by tsx (the WGSL `?raw` imports need Vite); use `npm run bench -- --node` here.
 */
import { benchMain } from './bench-main';
import { dawnRunner, installDawn } from './dawn';

benchMain(process.argv.slice(2), async () => {
	installDawn(); // before the engine modules load: they may read GPUBufferUsage & co.
	const { runBench } = await import('./bench');
	return dawnRunner(runBench);
}).then(
	() => process.exit(0),
	(e: unknown) => {
		console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
		process.exit(1);
	}
);
