#!/usr/bin/env -S npx tsx
/**
 * The headless engine CLI: runs the real engine inside headless Chromium (WebGPU; SwiftShader
 * without a GPU) and writes JSON. The contract (docs/ARCHITECTURE.md, shared design):
 *
 *   npm run engine -- forward  --model DIR --tokens 2,651,1024 [--adapter DIR] [--weights q4|f32] --out FILE
 *        FILE = {"logits": [[…vocab…] per position]}   (after the final softcap)
 *   npm run engine -- generate --model DIR --tokens … --max-new-tokens N [--adapter DIR] --out FILE
 *        FILE = {"tokens": [new token ids]}   greedy; stops after 1 or 107 (included)
 *
 * --model takes a Hugging Face layout (config.json + *.safetensors) or an MLC layout
 * (mlc-chat-config.json + tensor-cache.json/ndarray-cache.json + shards). HF checkpoints run in f32
 * by default (--weights q4 quantizes them on load); MLC checkpoints run as stored (q4).
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { startHarness, type Harness } from './engine-harness/launch';
import type { HarnessCommand, HarnessResult } from './engine-harness/harness';

const USAGE = `usage:
  npm run engine -- forward  --model DIR --tokens 2,651,1024 [--weights f32|q4] --out FILE
  npm run engine -- generate --model DIR --tokens 2,651 --max-new-tokens N [--weights f32|q4] --out FILE
(loss and train arrive with LoRA training; --adapter DIR with them)`;

class UsageError extends Error {}

function parseArgs(argv: string[]) {
	const [command, ...rest] = argv;
	const flags = new Map<string, string>();
	for (let i = 0; i < rest.length; i++) {
		const a = rest[i];
		if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
		const [k, inline] = a.slice(2).split('=', 2);
		const v = inline ?? rest[++i];
		if (v === undefined) throw new UsageError(`--${k} needs a value`);
		flags.set(k, v);
	}
	return { command, flags };
}

function parseIds(flag: string, value: string | undefined): number[] {
	if (value === undefined) throw new UsageError(`--${flag} is required`);
	const ids = value
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean)
		.map(Number);
	const bad = ids.findIndex((x) => !Number.isInteger(x) || x < 0);
	if (bad >= 0 || ids.length === 0)
		throw new UsageError(
			`--${flag}: expected comma-separated token ids, got ${JSON.stringify(value)}`
		);
	return ids;
}

async function main() {
	const { command, flags } = parseArgs(process.argv.slice(2));
	if (command === 'loss' || command === 'train')
		throw new UsageError(`'${command}' is not available yet: it arrives with LoRA training`);
	if (command !== 'forward' && command !== 'generate')
		throw new UsageError(`unknown command ${JSON.stringify(command)}`);
	if (flags.has('adapter'))
		throw new UsageError('--adapter is not available yet: it arrives with LoRA training');
	const modelDir = flags.get('model');
	if (!modelDir) throw new UsageError('--model DIR is required');
	if (!existsSync(modelDir) || !statSync(modelDir).isDirectory())
		throw new UsageError(`--model: no folder at ${modelDir}`);
	const out = flags.get('out');
	if (!out) throw new UsageError('--out FILE is required');
	const weights = flags.get('weights');
	if (weights !== undefined && weights !== 'f32' && weights !== 'q4')
		throw new UsageError(`--weights: expected f32 or q4, got ${JSON.stringify(weights)}`);
	const cmd: HarnessCommand = {
		command,
		tokens: parseIds('tokens', flags.get('tokens')),
		weights: weights as 'f32' | 'q4' | undefined
	};
	if (command === 'generate') {
		const n = Number(flags.get('max-new-tokens') ?? 32);
		if (!Number.isInteger(n) || n < 1)
			throw new UsageError(
				`--max-new-tokens: expected a positive integer, got ${flags.get('max-new-tokens')}`
			);
		cmd.maxNewTokens = n;
	}

	let harness: Harness | undefined;
	try {
		harness = await startHarness({
			module: '/scripts/engine-harness/harness.ts',
			readyFlag: 'engineHarnessReady',
			modelDir
		});
		const page = harness.page;
		const result: HarnessResult = await page.evaluate(
			(c) =>
				(
					globalThis as unknown as {
						runEngineCommand: (c: HarnessCommand) => Promise<HarnessResult>;
					}
				).runEngineCommand(c),
			cmd
		);
		const info = `${result.layout} ${result.quantization}, vocab ${result.vocabSize}, on ${result.adapter || 'unknown adapter'}, ${result.seconds.toFixed(2)} s, peak GPU ${(result.peakBytes / 2 ** 20).toFixed(1)} MiB`;
		if (command === 'forward') {
			const bytes = Buffer.from(result.logits!, 'base64');
			const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
			const V = result.vocabSize;
			const rows: string[] = [];
			for (let t = 0; t < cmd.tokens.length; t++)
				rows.push(`[${Array.from(all.subarray(t * V, (t + 1) * V)).join(',')}]`);
			writeFileSync(out, `{"logits":[${rows.join(',')}]}\n`);
			console.error(`forward: ${cmd.tokens.length} positions → ${out} (${info})`);
		} else {
			writeFileSync(out, JSON.stringify({ tokens: result.tokens }) + '\n');
			console.error(`generate: ${result.tokens!.length} new tokens → ${out} (${info})`);
		}
	} finally {
		await harness?.close();
	}
}

main().catch((e: unknown) => {
	if (e instanceof UsageError) {
		console.error(`engine: ${e.message}\n${USAGE}`);
		process.exit(2);
	}
	const msg = e instanceof Error ? e.message : String(e);
	console.error(`engine: ${msg.replace(/^page\.evaluate: (Error: )?/, '')}`);
	process.exit(1);
});
