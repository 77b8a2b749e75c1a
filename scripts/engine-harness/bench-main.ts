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
			skip2b: flag('skip-2b')
		};
		console.error(
			`benchmarking in ${runner.where} on ${software ? 'a software rasterizer' : 'a GPU'} (${[info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'adapter without info'}): prefill ${opts.prefillTokens}, 2B decode ${opts.decodeTokens2b} steps…`
		);
		result = await runner.run(opts);
	} finally {
		await runner.close();
	}

	const gpu = [result.adapter.vendor, result.adapter.architecture, result.adapter.description]
		.filter(Boolean)
		.join(' ');
	const soft = result.adapter.software || SOFTWARE_ADAPTER.test(gpu) ? ' (software WebGPU)' : '';
	const machine = `${gpu}${soft}, in ${runner.where}; shader-f16 ${result.features.shaderF16 ? 'yes' : 'no'}, subgroups ${result.features.subgroups ? 'yes' : 'no'}; host ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${gib(totalmem())} RAM`;
	const lines = [
		`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench${runner.where.startsWith('Node') ? ' -- --node' : ''}\` on: ${machine}.`,
		'',
		`Copy bandwidth (plain copy kernel, read + write): **${result.copyGBps.toFixed(1)} GB/s**.`,
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
	const table = lines.join('\n');
	console.log(`\n${table}\n`);

	if (flag('no-write')) return;
	const file = 'docs/BENCHMARKS.md';
	const begin = '<!-- BENCH:BEGIN -->';
	const end = '<!-- BENCH:END -->';
	const doc = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
	const a = doc.indexOf(begin);
	const b = doc.indexOf(end);
	const next =
		a >= 0 && b > a
			? `${doc.slice(0, a + begin.length)}\n${table}\n${doc.slice(b)}`
			: `${doc}\n${begin}\n${table}\n${end}\n`;
	writeFileSync(file, next);
	console.error(`written to ${file}`);
}
