/**
 * `npm run engine -- export-run --data FILE.jsonl --config FILE.json [--eval FILE.jsonl]
 *                              [--base-model HF_ID] [--model DIR] --out DIR`
 *
 * Writes the TRL + PEFT + accelerate project of src/lib/export/trl-project.ts for a run given as the
 * `train` command takes it (chats, TrainingArguments/LoraConfig JSON). Runs in Node: nothing is
 * tokenized here (the project tokenizes in Python), so no browser starts.
 *
 * The base model: --base-model; else --model DIR (a Hugging Face folder is used by its path, an
 * MLC folder by its Hugging Face original, e.g. gemma-2-2b-jpn-it-q4f16_1-MLC → google/gemma-2-2b-jpn-it);
 * else google/gemma-2-2b-jpn-it (the original of the studio's default model).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseTrainingConfig } from '../src/lib/lora/config';
import {
	DEFAULT_HF_BASE_MODEL,
	hfBaseModelFor,
	trlProjectFiles,
	type ChatExample
} from '../src/lib/export/trl-project';

export class ExportRunUsageError extends Error {}

function readFile(flag: string, path: string | undefined): string {
	if (!path) throw new ExportRunUsageError(`--${flag} FILE is required`);
	if (!existsSync(path) || !statSync(path).isFile())
		throw new ExportRunUsageError(`--${flag}: no file at ${path}`);
	return readFileSync(path, 'utf8');
}

/** {"messages": [...]} rows; every bad line is named. */
export function readChatsJsonl(flag: string, path: string): ChatExample[] {
	const rows: ChatExample[] = [];
	const problems: string[] = [];
	readFile(flag, path)
		.split(/\r?\n/)
		.forEach((line, i) => {
			if (!line.trim()) return;
			let row: unknown;
			try {
				row = JSON.parse(line);
			} catch (e) {
				problems.push(`line ${i + 1}: not valid JSON (${(e as Error).message})`);
				return;
			}
			const messages = (row as { messages?: unknown } | null)?.messages;
			if (!Array.isArray(messages))
				problems.push(
					`line ${i + 1}: expected {"messages": [...]} (pre-tokenized rows cannot be exported: the project tokenizes in Python)`
				);
			else rows.push({ messages });
		});
	if (problems.length)
		throw new ExportRunUsageError(`--${flag} ${path}:\n${problems.slice(0, 10).join('\n')}`);
	return rows;
}

function baseModel(flags: Map<string, string>): { id: string; from: string } {
	const given = flags.get('base-model');
	if (given) return { id: given, from: '--base-model' };
	const dir = flags.get('model');
	if (!dir) return { id: DEFAULT_HF_BASE_MODEL, from: 'the default model' };
	if (!existsSync(dir) || !statSync(dir).isDirectory())
		throw new ExportRunUsageError(`--model: no folder at ${dir}`);
	if (existsSync(join(dir, 'config.json')))
		return { id: resolve(dir), from: '--model (a local folder)' };
	const id = hfBaseModelFor(basename(resolve(dir)));
	if (!id)
		throw new ExportRunUsageError(
			`--model ${dir}: no Hugging Face original known for this folder; give --base-model HF_ID`
		);
	return { id, from: `--model (the original of ${basename(resolve(dir))})` };
}

export function exportRun(flags: Map<string, string>): void {
	const out = flags.get('out');
	if (!out) throw new ExportRunUsageError('--out DIR is required');
	const train = readChatsJsonl('data', flags.get('data') ?? '');
	const evalPath = flags.get('eval');
	const evalSet = evalPath ? readChatsJsonl('eval', evalPath) : [];
	let config: unknown;
	try {
		config = JSON.parse(readFile('config', flags.get('config')));
	} catch (e) {
		if (e instanceof ExportRunUsageError) throw e;
		throw new ExportRunUsageError(`--config: not valid JSON (${(e as Error).message})`);
	}
	const { training, lora, warnings } = parseTrainingConfig(config);
	const base = baseModel(flags);
	const files = trlProjectFiles({
		train,
		eval: evalSet,
		training,
		lora,
		baseModel: base.id,
		studioModel: flags.get('model'),
		runName: basename(flags.get('data')!).replace(/\.jsonl?$/i, '')
	});
	for (const [path, text] of Object.entries(files)) {
		const target = join(out, path);
		mkdirSync(dirname(target), { recursive: true });
		writeFileSync(target, text);
	}
	for (const w of warnings) console.error(`config: ${w}`);
	console.error(
		`export-run: ${Object.keys(files).length} files → ${out} (${train.length} train, ${evalSet.length} eval examples; base model ${base.id} from ${base.from})`
	);
}
