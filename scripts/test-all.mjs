#!/usr/bin/env node
// `npm test`: every layer, stopping at the first failure.
//   1. format check (prettier) and type check (svelte-check), beside
//   2. the tiny model fixtures (our own script; nothing is downloaded), then Vitest in node (tests/unit)
//      — these three use one core each, so they run at the same time (output printed per step)
//   3. Vitest browser mode in real headless Chromium with WebGPU (tests/gpu)
//   4. the kernel tests again in Node on Dawn + Vulkan (tests/gpu-node; lavapipe: shader-f16, subgroups),
//      beside the static build
//   5. Playwright against the built app (tests/e2e; two spec files at a time)
// Ends with one line "N passed, N failed" summing the test layers.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const bin = (name) => join('node_modules', '.bin', name);
const reports = '.vitest-reports';
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

let passed = 0;
let failed = 0;
let skipped = 0;
const started = Date.now();

function fail(title, status, secs) {
	console.error(`\n✗ ${title} failed (exit ${status}) after ${secs}s`);
	summary();
	process.exit(typeof status === 'number' && status ? status : 1);
}

/** One step with its output streamed as it comes. */
function run(title, cmd, args, env = {}) {
	const t0 = Date.now();
	console.log(`\n━━ ${title} ━━  ${cmd} ${args.join(' ')}`);
	const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	if (r.status !== 0) fail(title, r.status ?? r.signal, secs);
	console.log(`✓ ${title} (${secs}s)`);
}

/** One step with its output kept and printed as one block when it ends (for steps run side by side). */
function runQuietly(title, cmd, args) {
	const t0 = Date.now();
	const color = process.stdout.isTTY ? { FORCE_COLOR: '1' } : {};
	const child = spawn(cmd, args, {
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, ...color }
	});
	const output = [];
	child.stdout.on('data', (d) => output.push(d));
	child.stderr.on('data', (d) => output.push(d));
	return new Promise((resolve) =>
		child.on('close', (code, signal) => {
			const secs = ((Date.now() - t0) / 1000).toFixed(1);
			console.log(`\n━━ ${title} ━━  ${cmd} ${args.join(' ')}`);
			process.stdout.write(Buffer.concat(output));
			if (code === 0) console.log(`✓ ${title} (${secs}s)`);
			resolve({ title, status: code ?? signal, secs });
		})
	);
}

/** Runs each chain of steps (one after another) beside the other chains; fails after all end. */
async function sideBySide(...chains) {
	const results = await Promise.all(
		chains.map(async (chain) => {
			for (const step of chain) {
				const r = await runQuietly(...step);
				if (r.status !== 0) return r;
			}
			return null;
		})
	);
	const failure = results.find(Boolean);
	if (failure) fail(failure.title, failure.status, failure.secs);
}

function countVitest(file) {
	if (!existsSync(file)) return;
	const j = JSON.parse(readFileSync(file, 'utf8'));
	passed += j.numPassedTests ?? 0;
	failed += j.numFailedTests ?? 0;
	skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
}

function countPlaywright(file) {
	if (!existsSync(file)) return;
	const s = JSON.parse(readFileSync(file, 'utf8')).stats ?? {};
	passed += (s.expected ?? 0) + (s.flaky ?? 0);
	failed += s.unexpected ?? 0;
	skipped += s.skipped ?? 0;
}

function summary() {
	countVitest(join(reports, 'unit.json'));
	countVitest(join(reports, 'gpu.json'));
	countVitest(join(reports, 'gpu-node.json'));
	countPlaywright(join(reports, 'e2e.json'));
	console.log(`\nAll layers took ${((Date.now() - started) / 1000).toFixed(0)}s.`);
	console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
}

// generated .svelte-kit files first: the checks below only read them (sync writes only changes)
run('sync', bin('svelte-kit'), ['sync']);
await sideBySide(
	[['format', bin('prettier'), ['--check', '.', '--log-level', 'warn']]],
	[['types', process.execPath, ['scripts/check.mjs']]],
	[
		['fixtures', bin('tsx'), ['scripts/make-tiny-model.ts']],
		[
			'unit (node)',
			bin('vitest'),
			[
				'run',
				'--project',
				'unit',
				'--reporter=default',
				'--reporter=json',
				`--outputFile.json=${reports}/unit.json`
			]
		]
	]
);
run('gpu (Chromium WebGPU)', bin('vitest'), [
	'run',
	'--project',
	'gpu',
	'--reporter=default',
	'--reporter=json',
	`--outputFile.json=${reports}/gpu.json`
]);
// the build only writes build/ and .svelte-kit/output, which the gpu-node layer does not read
await sideBySide(
	[
		[
			'gpu-node (Dawn in Node, Vulkan)',
			bin('vitest'),
			[
				'run',
				'--project',
				'gpu-node',
				'--reporter=default',
				'--reporter=json',
				`--outputFile.json=${reports}/gpu-node.json`
			]
		]
	],
	[['build', bin('vite'), ['build', '--logLevel', 'warn']]]
);
run('e2e (Playwright, built app)', bin('playwright'), ['test', '--reporter=list,json'], {
	PLAYWRIGHT_JSON_OUTPUT_NAME: `${reports}/e2e.json`
});
summary();
