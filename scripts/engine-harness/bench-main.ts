/**
 * The benchmark driver shared by `npm run bench` (headless Chromium, or Node + Dawn with `--node`) and
 * the bundled Node benchmark that runs on a GPU machine without a browser
 * (scripts/engine-harness/bench-node-entry.ts, built by scripts/build-bench-node.mjs). It parses the
 * flags, asks a runner to run scripts/engine-harness/bench.ts's `runBench`, prints the table and
 * writes it into docs/BENCHMARKS.md between the BENCH markers. No browser, Vite or Playwright import
 * here: the runner brings what it needs.
 */
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BenchOptions, BenchResult } from './bench';
import { countsLines } from './bench-counts';
import { raceLines } from './race-lines';
import { describeKernelPaths } from '../../src/lib/webgpu/device';

export interface AdapterInfoText {
	vendor: string;
	architecture: string;
	description: string;
}

/** Where `runBench` runs: a page of headless Chromium, or this Node process with Dawn's WebGPU. */
export interface BenchRunner {
	/** 'headless Chromium' or 'Node (Dawn)'. */
	where: string;
	adapterInfo(): Promise<AdapterInfoText | null>;
	run(opts: BenchOptions): Promise<BenchResult>;
	close(): Promise<void>;
}

/** Software rasterizers: SwiftShader (Chromium's, or its Vulkan ICD under Dawn), Mesa's lavapipe. */
export const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe/i;

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Runs the benchmark with `args` (process.argv.slice(2)); `start(node)` gives the runner. */
export async function benchMain(
	args: string[],
	start: (node: boolean) => Promise<BenchRunner>
): Promise<void> {
	const flag = (name: string) => args.includes(`--${name}`);
	const value = (name: string, fallback: number) => {
		const i = args.indexOf(`--${name}`);
		return i >= 0 ? Number(args[i + 1]) : fallback;
	};

	const runner = await start(flag('node'));
	let result: BenchResult;
	try {
		const info = await runner.adapterInfo();
		const software = SOFTWARE_ADAPTER.test(
			`${info?.vendor} ${info?.architecture} ${info?.description}`
		);
		const opts: BenchOptions = {
			prefillTokens: value('prefill', software ? 8 : 128),
			decodeTokens2b: value('decode', software ? 2 : 64),
			skip2b: flag('skip-2b'),
			trainSeqs: [256, 512],
			trainSteps: value('train-steps', software ? 1 : 5),
			// 2B training on SwiftShader takes far too long: only on a GPU, or when forced
			train2b: flag('train-2b') || (!software && !flag('skip-2b')),
			profile: flag('profile'),
			countsOnly: flag('counts-only'),
			// the MatMulNBits race: GEMV (M = 1) and GEMM (M = --race-m: 512, software 64)
			race: flag('no-race')
				? undefined
				: { ms: [1, value('race-m', software ? 64 : 512)], rounds: value('race-rounds', 5) },
			raceOnly: flag('race-only')
		};
		console.error(
			`benchmarking in ${runner.where} on ${software ? 'a software rasterizer' : 'a GPU'} (${[info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'adapter without info'}): prefill ${opts.prefillTokens}, 2B decode ${opts.decodeTokens2b} steps; LoRA training at ${opts.trainSeqs.join(' and ')} tokens, ${opts.trainSteps} steps, ${opts.train2b ? 'tiny and 2B shapes' : 'tiny only (--train-2b for the 2B shapes)'}…`
		);
		result = await runner.run(opts);
	} finally {
		await runner.close();
	}

	const gpu = [result.adapter.vendor, result.adapter.architecture, result.adapter.description]
		.filter(Boolean)
		.join(' ');
	const soft = result.adapter.software || SOFTWARE_ADAPTER.test(gpu) ? ' (software WebGPU)' : '';
	const machine = `${gpu}${soft}, in ${runner.where}; shader-f16 ${result.features.shaderF16 ? 'yes' : 'no'}, subgroups ${result.features.subgroups ? 'yes' : 'no'}; kernel paths: ${describeKernelPaths(result.paths)}; host ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${gib(totalmem())} RAM`;
	const only = ['counts-only', 'race-only'].filter(flag).map((f) => ` --${f}`);
	const stamp = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench${runner.where.startsWith('Node') || only.length ? ' --' : ''}${runner.where.startsWith('Node') ? ' --node' : ''}${only.join('')}\` on: ${machine}.`;
	const counts = result.counts
		? [`Counted ${stamp}`, '', ...countsLines(result.counts, 26)].join('\n')
		: null;
	if (counts) console.log(`\n${counts}\n`);
	const write = (begin: string, end: string, table: string) => {
		if (flag('no-write')) return;
		const file = 'docs/BENCHMARKS.md';
		const doc = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n`;
		const a = doc.indexOf(begin);
		const b = doc.indexOf(end);
		const next =
			a >= 0 && b > a
				? `${doc.slice(0, a + begin.length)}\n${table}\n${doc.slice(b)}`
				: `${doc}\n${begin}\n${table}\n${end}\n`;
		writeFileSync(file, next);
		console.error(`written to ${file}`);
	};
	if (counts) write('<!-- COUNTS:BEGIN -->', '<!-- COUNTS:END -->', counts);
	const jsonAt = args.indexOf('--json');
	if (jsonAt >= 0) writeFileSync(args[jsonAt + 1], JSON.stringify({ machine, ...result }, null, 1));
	if (result.race) {
		const race = [`Raced ${stamp}`, '', ...raceLines(result.race, soft !== '')].join('\n');
		console.log(`\n${race}\n`);
		// a race that could not start leaves the recorded one in place
		if (!result.race.error) write('<!-- RACE:BEGIN -->', '<!-- RACE:END -->', race);
	}
	if (flag('counts-only') || flag('race-only')) return;
	const lines = [
		`Measured ${stamp}`,
		'',
		`Copy bandwidth (plain copy kernel, read + write): **${result.copyGBps.toFixed(1)} GB/s**. Peak f32 FMA rate (8 independent fma chains per invocation, 2 FLOPs per fma): **${result.fmaGflops.toFixed(1)} GFLOP/s**.`,
		'',
		'| model | weights | prefill tok/s | decode tok/s | decode GB/s (weights) | decode / copy bandwidth | first token | upload | peak GPU memory |',
		'|---|---|---|---|---|---|---|---|---|'
	];
	for (const m of result.models)
		lines.push(
			`| ${m.name} | ${mib(m.weightsBytes)} | ${m.prefillTokensPerSecond.toFixed(1)} (${m.prefillTokens} tok) | ${m.decodeTokensPerSecond.toFixed(2)} (${m.decodeTokens} tok) | ${m.decodeGBps.toFixed(2)} | ${((100 * m.decodeGBps) / result.copyGBps).toFixed(1)}% | ${m.firstTokenSeconds.toFixed(2)} s | ${m.createSeconds.toFixed(2)} s | ${mib(m.peakGpuBytes)} (${Object.entries(
				m.byPurpose
			)
				.filter(([, v]) => v > 0)
				.map(([k, v]) => `${k} ${mib(v)}`)
				.join(', ')}) |`
		);
	lines.push(
		'',
		`Training (LoRA r=16, all seven projections, batch 1): a step = zero the gradients + loss and LoRA gradients over one sequence (every token supervised) + one AdamW step; one warm-up step (on a software adapter only before the first tiny length: the pipelines are cached per device), then the timed ones; tokens/s = tokens × steps / seconds. Peak GPU memory is the training engine's own GpuMemory high-water mark (weights, forward activations — the KV cache is released while training, as in the studio — backward checkpoints and one layer's activations/gradients, LoRA parameters and gradients, AdamW moments); the inference engines are destroyed before. Target: ≤ 2.2 GB for the 2B shapes at 512 tokens.`,
		'',
		'| model | seq | steps | train tok/s | s / step | GFLOP/s (executed) | of peak FMA | peak GPU memory | LoRA params | loss |',
		'|---|---|---|---|---|---|---|---|---|---|'
	);
	for (const t of result.training)
		lines.push(
			t.error
				? `| ${t.name} | ${t.seq} | — | failed: ${t.error.replace(/\|/g, '/').replace(/\s+/g, ' ')} | | | | ${mib(t.peakGpuBytes)} | | |`
				: `| ${t.name} | ${t.seq} | ${t.steps || '0 (allocation only)'} | ${t.steps ? t.tokensPerSecond.toFixed(1) : '—'} | ${t.steps ? t.secondsPerStep.toFixed(3) : '—'} | ${t.steps ? t.gflops.toFixed(2) : '—'} | ${t.steps ? `${((100 * t.gflops) / result.fmaGflops).toFixed(2)}%` : '—'} | ${mib(t.peakGpuBytes)} (${gib(t.peakGpuBytes)}; ${Object.entries(
						t.byPurpose
					)
						.filter(([, v]) => v > 0)
						.map(([k, v]) => `${k} ${mib(v)}`)
						.join(
							', '
						)} live at the end) | ${(t.trainableParams / 1e6).toFixed(2)} M | ${t.steps ? t.loss.toFixed(3) : '—'} |`
		);
	if (result.training.some((t) => t.name.startsWith('Gemma') && !t.steps))
		lines.push(
			'',
			'On a software adapter the 2B-shaped training rows only allocate everything a step uses (engine, backward, LoRA, AdamW) and report that memory; they run steps on a GPU (`--train-2b` forces them here).'
		);
	lines.push(
		'',
		'Training FLOPs per token (the "GFLOP/s (executed)" column = tok/s × this; what the kernels compute, recomputation included, so "of peak FMA" is arithmetic utilisation): frozen base, per-layer activation checkpointing — layers 6·P (forward 2·P, recompute in the backward 2·P, dx = dy·W through the frozen weights 2·P; no weight gradients), P = the seven projections of every layer; LM head 6·V·d (the fused cross-entropy computes the logits, recomputes them in the backward, then dh); LoRA 10·r·in + 8·r·out per projection (forward and recompute A·x, B·u; backward A·x again, dy·B, dB, dA, dx); attention 4 × its forward 4·H·hd·ctx per layer (ctx = mean attended positions, causal, sliding window on even layers). Embedding lookups, norms, activations and the optimizer are not counted. Gemma-2 2B: P = 2.02 G (26 layers), V·d = 0.59 G: ≈ 16.1 GFLOP per token at 512 tokens.'
	);
	const table = lines.join('\n');
	console.log(`\n${table}\n`);
	// --profile: per-kernel times of one step (printed only; BENCHMARKS.md keeps the totals)
	for (const t of result.training.filter((t) => t.profile)) {
		const total = t.profile!.reduce((s, k) => s + k.ms, 0);
		console.log(
			`Kernels of one step, ${t.name} at ${t.seq} tokens (each dispatch replayed alone):`
		);
		for (const k of t.profile!.slice(0, 20))
			console.log(
				`  ${k.ms.toFixed(1).padStart(10)} ms ${((100 * k.ms) / total).toFixed(1).padStart(5)}%  ${String(k.dispatches).padStart(4)} × ${k.kernel} [${k.grid}]`
			);
		console.log('');
	}

	write('<!-- BENCH:BEGIN -->', '<!-- BENCH:END -->', table);
}
