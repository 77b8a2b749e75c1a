#!/usr/bin/env node
// `npm test`: every layer, in order, stopping at the first failure.
//   1. format check (prettier) and type check (svelte-check)
//   2. tiny model fixtures (our own script; nothing is downloaded)
//   3. Vitest in node (tests/unit)
//   4. Vitest browser mode in real headless Chromium with WebGPU (tests/gpu)
//   5. the kernel tests again in Node on Dawn + Vulkan (tests/gpu-node; lavapipe: shader-f16, subgroups)
//   6. the static build, then Playwright against it (tests/e2e)
// Ends with one line "N passed, N failed" summing the test layers.
import { spawnSync } from 'node:child_process';
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

function run(title, cmd, args, env = {}) {
	const t0 = Date.now();
	console.log(`\n━━ ${title} ━━  ${cmd} ${args.join(' ')}`);
	const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	if (r.status !== 0) {
		console.error(`\n✗ ${title} failed (exit ${r.status ?? r.signal}) after ${secs}s`);
		summary();
		process.exit(r.status || 1);
	}
	console.log(`✓ ${title} (${secs}s)`);
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

run('format', bin('prettier'), ['--check', '.', '--log-level', 'warn']);
run('types', process.execPath, ['scripts/check.mjs']);
run('fixtures', bin('tsx'), ['scripts/make-tiny-model.ts']);
run('unit (node)', bin('vitest'), [
	'run',
	'--project',
	'unit',
	'--reporter=default',
	'--reporter=json',
	`--outputFile.json=${reports}/unit.json`
]);
run('gpu (Chromium WebGPU)', bin('vitest'), [
	'run',
	'--project',
	'gpu',
	'--reporter=default',
	'--reporter=json',
	`--outputFile.json=${reports}/gpu.json`
]);
run('gpu-node (Dawn in Node, Vulkan)', bin('vitest'), [
	'run',
	'--project',
	'gpu-node',
	'--reporter=default',
	'--reporter=json',
	`--outputFile.json=${reports}/gpu-node.json`
]);
run('build', bin('vite'), ['build', '--logLevel', 'warn']);
run('e2e (Playwright, built app)', bin('playwright'), ['test', '--reporter=list,json'], {
	PLAYWRIGHT_JSON_OUTPUT_NAME: `${reports}/e2e.json`
});
summary();
