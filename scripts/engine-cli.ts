#!/usr/bin/env -S npx tsx
/**
 * The headless engine CLI: runs the real engine inside headless Chromium (WebGPU; SwiftShader
 * without a GPU) and writes JSON. The contract (shared design, architecture.md):
 *
 *   npm run engine -- forward  --model DIR --tokens 2,651,1024 [--adapter DIR] [--weights q4|f32] --out FILE
 *        FILE = {"logits": [[…vocab…] per position]}   (after the final softcap)
 *   npm run engine -- loss     --model DIR --tokens … --labels … --adapter DIR --out FILE
 *        FILE = {"loss": n, "grads": {"<PEFT tensor key>": [row-major values]}}
 *        labels: same length as tokens, -100 = ignored, shifted inside (HF semantics)
 *   npm run engine -- generate --model DIR --tokens … --max-new-tokens N [--adapter DIR] --out FILE
 *        FILE = {"tokens": [new token ids]}   greedy; stops after 1 or 107 (included)
 *   npm run engine -- train    --model DIR --data FILE.jsonl --config FILE.json --out ADAPTER_DIR
 *                              [--init-adapter DIR] [--base-model NAME]
 *   npm run engine -- export-gguf --adapter DIR|ZIP --out FILE.gguf [--dtype f32|f16]
 *        FILE.gguf ← the adapter as a GGUF LoRA (llama.cpp / Ollama), and beside it Modelfile + README.md;
 *        runs in Node only (no browser, no model): scripts/export-gguf.ts
 *        data: JSONL of {"messages": [...]} (uses the model folder's tokenizer) or pre-tokenized
 *        {"input_ids": [...], "labels": [...]}; config: TrainingArguments / LoraConfig names as JSON
 *        ADAPTER_DIR ← adapter_config.json + adapter_model.safetensors, as PEFT writes them,
 *        README.md, and trainer_state.json with the Hugging Face Trainer's log_history (lora/trainer-state.ts)
 *
 *   npm run engine -- export-run --data FILE.jsonl --config FILE.json [--eval FILE.jsonl]
 *                              [--base-model HF_ID] [--model DIR] --out DIR
 *        DIR ← a TRL + PEFT + accelerate project re-running that training (scripts/export-run.ts);
 *        runs in Node, no browser
 *
 * --adapter / --init-adapter take a PEFT folder (adapter_config.json + adapter_model.safetensors)
 * or the studio's exported zip (a .zip file, or a folder holding exactly one). It is applied
 * unmerged: W x + s·B(A x).
 *
 * --model takes a Hugging Face layout (config.json + *.safetensors) or an MLC layout
 * (mlc-chat-config.json + tensor-cache.json/ndarray-cache.json + shards). HF checkpoints run in f32
 * by default (--weights q4 quantizes them on load); MLC checkpoints run as stored (q4).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { startHarness, type Harness } from './engine-harness/launch';
import { exportGguf } from './export-gguf';
import { describePeftConfig, peftReadme } from '../src/lib/export/readme';
import type { HarnessCommand, HarnessResult } from './engine-harness/harness';
import { exportRun, ExportRunUsageError } from './export-run';

const USAGE = `usage:
  npm run engine -- forward  --model DIR --tokens 2,651,1024 [--adapter DIR] [--weights f32|q4] --out FILE
  npm run engine -- loss     --model DIR --tokens 2,651,1024 --labels -100,651,1024 --adapter DIR --out FILE
  npm run engine -- generate --model DIR --tokens 2,651 --max-new-tokens N [--adapter DIR] [--weights f32|q4] --out FILE
  npm run engine -- train    --model DIR --data FILE.jsonl --config FILE.json [--init-adapter DIR] --out ADAPTER_DIR
  npm run engine -- export-run --data FILE.jsonl --config FILE.json [--eval FILE.jsonl] [--base-model HF_ID] [--model DIR] --out DIR
  npm run engine -- export-gguf --adapter DIR|ZIP --out FILE.gguf [--dtype f32|f16]   (default f16; no browser)`;

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

function parseIds(flag: string, value: string | undefined, allowIgnore = false): number[] {
	if (value === undefined) throw new UsageError(`--${flag} is required`);
	const ids = value
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean)
		.map(Number);
	const bad = ids.findIndex((x) => !Number.isInteger(x) || (x < 0 && !(allowIgnore && x === -100)));
	if (bad >= 0 || ids.length === 0)
		throw new UsageError(
			`--${flag}: expected comma-separated token ids${allowIgnore ? ' (or -100)' : ''}, got ${JSON.stringify(value)}`
		);
	return ids;
}

/** Where a PEFT adapter is: the folder to serve at /__adapter/ and, for a zip, its file name. */
function adapterSource(flag: string, path: string): { dir: string; zip?: string } {
	if (!existsSync(path)) throw new UsageError(`--${flag}: nothing at ${path}`);
	if (statSync(path).isFile()) {
		if (!path.endsWith('.zip'))
			throw new UsageError(`--${flag}: expected a PEFT folder or a .zip, got ${path}`);
		return { dir: dirname(resolve(path)), zip: basename(path) };
	}
	if (existsSync(join(path, 'adapter_config.json'))) return { dir: path };
	const zips = readdirSync(path).filter((f) => f.endsWith('.zip'));
	if (zips.length === 1) return { dir: path, zip: zips[0] };
	throw new UsageError(
		`--${flag}: ${path} has no adapter_config.json (and not exactly one .zip to read instead)`
	);
}

/** base_model_name_or_path for an exported adapter: --base-model, config.json's _name_or_path, or the folder name. */
function baseModelName(flags: Map<string, string>, modelDir: string): string {
	const given = flags.get('base-model');
	if (given) return given;
	try {
		const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
		if (typeof cfg._name_or_path === 'string' && cfg._name_or_path) return cfg._name_or_path;
	} catch {
		/* MLC layout or no config.json */
	}
	return basename(resolve(modelDir));
}

function readText(flag: string, path: string | undefined): string {
	if (!path) throw new UsageError(`--${flag} FILE is required`);
	if (!existsSync(path) || !statSync(path).isFile())
		throw new UsageError(`--${flag}: no file at ${path}`);
	return readFileSync(path, 'utf8');
}

function f32(b64: string): Float32Array {
	const bytes = Buffer.from(b64, 'base64');
	return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** export-gguf: Node only, before anything that launches a browser. */
function exportGgufCommand(flags: Map<string, string>) {
	const adapter = flags.get('adapter');
	if (!adapter) throw new UsageError('export-gguf: --adapter DIR|ZIP is required');
	const out = flags.get('out');
	if (!out || !out.endsWith('.gguf'))
		throw new UsageError('export-gguf: --out FILE.gguf is required');
	const dtype = flags.get('dtype') ?? 'f16';
	if (dtype !== 'f32' && dtype !== 'f16')
		throw new UsageError(`--dtype: expected f32 or f16, got ${JSON.stringify(dtype)}`);
	for (const k of flags.keys())
		if (!['adapter', 'out', 'dtype'].includes(k))
			throw new UsageError(`export-gguf: unknown option --${k}`);
	const r = exportGguf({ source: adapterSource('adapter', adapter), out, dtype });
	console.error(
		`export-gguf: ${r.modules} modules, ${dtype.toUpperCase()}${r.foldedModules.length ? `, PEFT scale folded into lora_b of ${r.foldedModules.length}` : ''} → ${r.written.join(', ')}`
	);
}

async function main() {
	const { command, flags } = parseArgs(process.argv.slice(2));
	if (command === 'export-run') return exportRun(flags); // Node only: no browser
	if (command === 'export-gguf') return exportGgufCommand(flags);
	if (!['forward', 'generate', 'loss', 'train'].includes(command))
		throw new UsageError(`unknown command ${JSON.stringify(command)}`);
	const modelDir = flags.get('model');
	if (!modelDir) throw new UsageError('--model DIR is required');
	if (!existsSync(modelDir) || !statSync(modelDir).isDirectory())
		throw new UsageError(`--model: no folder at ${modelDir}`);
	const out = flags.get('out');
	if (!out) throw new UsageError('--out is required');
	const weights = flags.get('weights');
	if (weights !== undefined && weights !== 'f32' && weights !== 'q4')
		throw new UsageError(`--weights: expected f32 or q4, got ${JSON.stringify(weights)}`);
	const cmd: HarnessCommand = {
		command: command as HarnessCommand['command'],
		weights: weights as 'f32' | 'q4' | undefined
	};
	const folders: Record<string, string> = {};
	const adapterFlag = command === 'train' ? 'init-adapter' : 'adapter';
	if (command === 'train' && flags.has('adapter'))
		throw new UsageError('train: use --init-adapter DIR to start from an adapter');
	const adapterPath = flags.get(adapterFlag);
	if (command === 'loss' && !adapterPath) throw new UsageError('loss: --adapter DIR is required');
	if (adapterPath) {
		const src = adapterSource(adapterFlag, adapterPath);
		folders['/__adapter'] = src.dir;
		cmd.adapter = { zip: src.zip };
	}
	if (command === 'train') {
		cmd.data = readText('data', flags.get('data'));
		cmd.config = readText('config', flags.get('config'));
		try {
			JSON.parse(cmd.config);
		} catch (e) {
			throw new UsageError(`--config: not valid JSON (${(e as Error).message})`);
		}
		cmd.baseModel = baseModelName(flags, modelDir);
	} else {
		cmd.tokens = parseIds('tokens', flags.get('tokens'));
	}
	if (command === 'loss') {
		cmd.labels = parseIds('labels', flags.get('labels'), true);
		if (cmd.labels.length !== cmd.tokens!.length)
			throw new UsageError(
				`--labels: ${cmd.labels.length} labels for ${cmd.tokens!.length} tokens (same length expected; the shift happens inside)`
			);
	}
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
			modelDir,
			folders,
			echoLog: command === 'train'
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
			const all = f32(result.logits!);
			const V = result.vocabSize;
			const rows: string[] = [];
			for (let t = 0; t < cmd.tokens!.length; t++)
				rows.push(`[${Array.from(all.subarray(t * V, (t + 1) * V)).join(',')}]`);
			writeFileSync(out, `{"logits":[${rows.join(',')}]}\n`);
			console.error(`forward: ${cmd.tokens!.length} positions → ${out} (${info})`);
		} else if (command === 'loss') {
			const parts = Object.entries(result.grads!).map(
				([k, b64]) => `${JSON.stringify(k)}:[${Array.from(f32(b64)).join(',')}]`
			);
			writeFileSync(out, `{"loss":${result.loss},"grads":{${parts.join(',')}}}\n`);
			console.error(
				`loss: ${result.loss} with ${parts.length} gradient tensors → ${out} (${info})`
			);
		} else if (command === 'train') {
			mkdirSync(out, { recursive: true });
			writeFileSync(join(out, 'adapter_config.json'), result.adapterConfig!);
			writeFileSync(
				join(out, 'adapter_model.safetensors'),
				Buffer.from(result.adapterWeights!, 'base64')
			);
			writeFileSync(join(out, 'trainer_state.json'), result.trainerState!);
			// what the folder is, the base model, the arguments, how to load it
			const folder = basename(resolve(out));
			const description = describePeftConfig(folder, result.adapterConfig!, cmd.baseModel!);
			const trainingArgs = JSON.parse(cmd.config!) as Record<string, unknown>;
			writeFileSync(
				join(out, 'README.md'),
				peftReadme({ ...description, origin: 'trained', trainingArgs }, folder)
			);
			for (const w of result.warnings ?? []) console.error(`config: ${w}`);
			const last = result.log!.at(-1);
			console.error(
				`train: ${result.log!.length} steps${last ? `, last loss ${last.loss.toFixed(4)}` : ''} → ${out} (${info})`
			);
		} else {
			writeFileSync(out, JSON.stringify({ tokens: result.tokens }) + '\n');
			console.error(`generate: ${result.tokens!.length} new tokens → ${out} (${info})`);
		}
	} finally {
		await harness?.close();
	}
}

main().catch((e: unknown) => {
	if (e instanceof UsageError || e instanceof ExportRunUsageError) {
		console.error(`engine: ${e.message}\n${USAGE}`);
		process.exit(2);
	}
	const msg = e instanceof Error ? e.message : String(e);
	console.error(`engine: ${msg.replace(/^page\.evaluate: (Error: )?/, '')}`);
	process.exit(1);
});
