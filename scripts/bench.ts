#!/usr/bin/env -S npx tsx
/**
 * `npm run bench`: speed and memory figures of the engine, printed and written to
 * docs/BENCHMARKS.md (the section between the BENCH markers is replaced). No assertions on time.
 *
 *   npm run bench                     # tiny model + Gemma-2 2B shapes (SwiftShader: prefill 8, decode 2)
 *   npm run bench -- --decode 64      # decode steps of the 2B-shaped model
 *   npm run bench -- --prefill 128    # prefill tokens
 *   npm run bench -- --skip-2b        # tiny model and the bandwidth probe only
 *   npm run bench -- --no-write       # print only
 */
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { startHarness } from './engine-harness/launch';
import type { BenchOptions, BenchResult } from './engine-harness/bench';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, fallback: number) => {
	const i = args.indexOf(`--${name}`);
	return i >= 0 ? Number(args[i + 1]) : fallback;
};

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function main() {
	const harness = await startHarness({
		module: '/scripts/engine-harness/bench.ts',
		readyFlag: 'benchReady'
	});
	let result: BenchResult;
	try {
		const software = await harness.page.evaluate(async () => {
			const a = await navigator.gpu?.requestAdapter();
			return /swiftshader/i.test(
				`${a?.info?.vendor} ${a?.info?.architecture} ${a?.info?.description}`
			);
		});
		const opts: BenchOptions = {
			prefillTokens: value('prefill', software ? 8 : 128),
			decodeTokens2b: value('decode', software ? 2 : 64),
			skip2b: flag('skip-2b')
		};
		console.error(
			`benchmarking on ${software ? 'SwiftShader (software WebGPU)' : 'a GPU'}: prefill ${opts.prefillTokens}, 2B decode ${opts.decodeTokens2b} steps…`
		);
		result = await harness.page.evaluate(
			(o) =>
				(globalThis as unknown as { runBench: (o: BenchOptions) => Promise<BenchResult> }).runBench(
					o
				),
			opts
		);
	} finally {
		await harness.close();
	}

	const gpu = [result.adapter.vendor, result.adapter.architecture, result.adapter.description]
		.filter(Boolean)
		.join(' ');
	const machine = `${gpu}${result.adapter.software ? ' (software WebGPU)' : ''}; shader-f16 ${result.features.shaderF16 ? 'yes' : 'no'}, subgroups ${result.features.subgroups ? 'yes' : 'no'}; host ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${gib(totalmem())} RAM`;
	const lines = [
		`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench\` on: ${machine}.`,
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

main().catch((e: unknown) => {
	console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
	process.exit(1);
});
