/**
 * The engine CLI (the contract an independent Hugging Face reference is run against): its numbers
 * are compared with the float64 CPU reference computed here in Node from the same fixture files.
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesFromMap } from '../../src/lib/model/files';
import { loadModel } from '../../src/lib/model/load';
import { referenceForward, referenceGenerate } from '../../src/lib/reference/gemma2';
import { folderMap } from './folder-map';

const tmp = mkdtempSync(join(tmpdir(), 'engine-cli-'));
// sequence longer than the tiny sliding window (4), Gemma's turn tokens included
const TOKENS = [2, 106, 300, 301, 302, 303, 304, 107, 108, 400];

const folder = (dir: string) => filesFromMap(folderMap(dir), dir);

function engine(args: string[]): unknown {
	const out = join(tmp, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
	execFileSync('node_modules/.bin/tsx', ['scripts/engine-cli.ts', ...args, '--out', out], {
		stdio: ['ignore', 'ignore', 'pipe'],
		timeout: 340_000 // a guard: two spec files run at once on CI's two cores
	});
	return JSON.parse(readFileSync(out, 'utf8'));
}

test.describe.configure({ timeout: 360_000 });

test('forward on the HF f32 tiny model matches the float64 reference within 1e-4 relative', async () => {
	const { logits } = engine([
		'forward',
		'--model',
		'fixtures/tiny-hf',
		'--tokens',
		TOKENS.join(',')
	]) as { logits: number[][] };
	const model = await loadModel(folder('fixtures/tiny-hf'));
	const want = referenceForward(model.weights, TOKENS);
	const V = model.config.vocabSize;
	expect(logits.length).toBe(TOKENS.length);
	let worst = 0;
	for (let t = 0; t < TOKENS.length; t++) {
		expect(logits[t].length).toBe(V);
		// relative to the row's scale: logits pass through zero, so per-element relative error is meaningless there
		const scale = Math.max(...Array.from(want.subarray(t * V, (t + 1) * V), Math.abs));
		for (let v = 0; v < V; v++)
			worst = Math.max(worst, Math.abs(logits[t][v] - want[t * V + v]) / scale);
	}
	expect(worst).toBeLessThan(1e-4);
});

test('greedy generation on the MLC q4f16_1 tiny model is identical to the reference', async () => {
	const prompt = TOKENS.slice(0, 6);
	const { tokens } = engine([
		'generate',
		'--model',
		'fixtures/tiny-mlc',
		'--tokens',
		prompt.join(','),
		'--max-new-tokens',
		'6'
	]) as { tokens: number[] };
	const model = await loadModel(folder('fixtures/tiny-mlc'));
	expect(tokens).toEqual(referenceGenerate(model.weights, prompt, 6, [1, 107]));
});

test('bad input gets a clear error naming the flag', async () => {
	expect(() => engine(['forward', '--model', 'fixtures/tiny-hf', '--tokens', '2,x'])).toThrow(
		/--tokens: expected comma-separated token ids/
	);
	expect(() => engine(['forward', '--model', 'fixtures/nope', '--tokens', '2'])).toThrow(
		/--model: no folder at fixtures\/nope/
	);
});
