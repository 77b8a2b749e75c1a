/**
 * Every export says what it is: the PEFT zip, the GGUF bundle and the dataset zip each carry a
 * README.md; the zips hold exactly their files; the PEFT zip still imports; and
 * `npm run engine -- export-gguf` writes FILE.gguf + Modelfile + README.md in Node alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import type { Adapter, Dataset, TrainingRun } from '../../src/lib/data/types';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles, importPeftFolder } from '../../src/lib/lora/peft';
import { seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import {
	adapterGgufZip,
	adapterPeftZip,
	checkpointPeftZip,
	datasetZip
} from '../../src/lib/export/bundles';
import { ggufLoraFile, readPeftForGguf } from '../../src/lib/export/gguf-lora';
import { huggingFaceBaseModel } from '../../src/lib/export/base-model';
import { ollamaBase } from '../../src/lib/export/ollama';

const dir = mkdtempSync(join(tmpdir(), 'bundles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dec = new TextDecoder();
const MLC = 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC';

function peftFiles(rslora = false) {
	const a = createLoraAdapter(
		TINY_CONFIG,
		{
			...LORA_DEFAULTS,
			r: 2,
			lora_alpha: 4,
			use_rslora: rslora,
			target_modules: [...ALL_PROJECTIONS]
		},
		7
	);
	const r = seededRandom(8);
	for (const m of a.modules.values()) for (let i = 0; i < m.B.length; i++) m.B[i] = r() - 0.5;
	return exportPeftFiles(TINY_CONFIG, a, { baseModel: MLC });
}

function record(rslora = false): Adapter {
	const f = peftFiles(rslora);
	return {
		id: 'a1',
		name: 'Socrates (問答)',
		base: { model: MLC },
		origin: 'trained',
		configJson: dec.decode(f['adapter_config.json']),
		weights: new Blob([f['adapter_model.safetensors'] as Uint8Array<ArrayBuffer>]),
		r: 2,
		loraAlpha: 4,
		targetModules: [...ALL_PROJECTIONS],
		runId: 'run1',
		createdAt: 0,
		updatedAt: 0
	};
}

const RUN = {
	id: 'run1',
	name: 'first run',
	trainingArgs: { learning_rate: 0.0002, num_train_epochs: 2 },
	loraConfig: {}
} as unknown as TrainingRun;

describe('base model and Ollama FROM', () => {
	it('maps MLC builds to the Hugging Face original', () => {
		expect(huggingFaceBaseModel(MLC)).toBe('google/gemma-2-2b-jpn-it');
		expect(huggingFaceBaseModel('mlc-ai/gemma-2-2b-it-q4f32_1-MLC')).toBe('google/gemma-2-2b-it');
		expect(huggingFaceBaseModel('local:tiny-hf')).toBe('local:tiny-hf');
	});
	it('uses Ollama’s library where it has the same weights, else a local GGUF of the original', () => {
		expect(ollamaBase('google/gemma-2-2b-it')).toEqual({
			from: 'gemma2:2b-instruct-fp16',
			localFile: false
		});
		expect(ollamaBase('google/gemma-2-2b-jpn-it')).toEqual({
			from: './gemma-2-2b-jpn-it-f16.gguf',
			localFile: true
		});
	});
});

describe('adapter zips', { timeout: 60_000 }, () => {
	it('PEFT zip: the two PEFT files + a README, and it still imports', async () => {
		const z = await adapterPeftZip(record(), RUN);
		expect(z.fileName).toBe('Socrates-問答.zip');
		const files = unzipSync(z.bytes);
		expect(Object.keys(files).sort()).toEqual([
			'README.md',
			'adapter_config.json',
			'adapter_model.safetensors'
		]);
		const readme = dec.decode(files['README.md']);
		expect(readme).toMatch(/^# Socrates \(問答\)/);
		expect(readme).toContain('PeftModel.from_pretrained(base, "./Socrates-問答")');
		expect(readme).toContain('AutoModelForCausalLM.from_pretrained("google/gemma-2-2b-jpn-it"');
		expect(readme).toContain(`the studio ran \`${MLC}\``);
		expect(readme).toContain('| `learning_rate` | 0.0002 |');
		expect(readme).toContain('export-gguf --adapter Socrates-問答.zip');
		expect(readme).not.toMatch(/^---/); // no front matter: convert_lora_to_gguf.py would read it
		const imported = importPeftFolder(TINY_CONFIG, new Map(Object.entries(files)));
		expect(imported.adapter.modules.size).toBe(21);
	});

	it('checkpoint zip (Train page): the PEFT files of the checkpoint + a README with the run', () => {
		const a = createLoraAdapter(TINY_CONFIG, { ...LORA_DEFAULTS, r: 2, lora_alpha: 4 }, 1);
		const run = { ...RUN, base: { model: MLC } } as TrainingRun;
		const z = checkpointPeftZip(TINY_CONFIG, a, run, 40);
		expect(z.fileName).toBe('first-run-step40.zip');
		const files = unzipSync(z.bytes);
		expect(Object.keys(files).sort()).toEqual([
			'README.md',
			'adapter_config.json',
			'adapter_model.safetensors'
		]);
		const readme = dec.decode(files['README.md']);
		expect(readme).toMatch(/^# first run \(step 40\)/);
		expect(readme).toContain('## Training arguments (run “first run”)');
		expect(importPeftFolder(TINY_CONFIG, new Map(Object.entries(files))).adapter.modules.size).toBe(
			6
		);
	});

	it('GGUF zip: adapter.gguf (the export of the stored files), Modelfile, README', async () => {
		const a = record(true);
		const z = await adapterGgufZip(a, 'f16', RUN);
		expect(z.fileName).toBe('Socrates-問答-gguf.zip');
		const files = unzipSync(z.bytes);
		expect(Object.keys(files).sort()).toEqual(['Modelfile', 'README.md', 'adapter.gguf']);
		const stored = readPeftForGguf(a.configJson, new Uint8Array(await a.weights.arrayBuffer()));
		expect(files['adapter.gguf']).toEqual(
			ggufLoraFile(stored, { dtype: 'f16', folderName: 'Socrates-問答' })
		);
		const modelfile = dec.decode(files['Modelfile']);
		expect(modelfile).toMatch(/^FROM \.\/gemma-2-2b-jpn-it-f16\.gguf\nADAPTER \.\/adapter\.gguf\n/);
		expect(modelfile).toContain('PARAMETER stop <end_of_turn>');
		const readme = dec.decode(files['README.md']);
		expect(readme).toContain('llama-cli -m gemma-2-2b-jpn-it-f16.gguf --lora adapter.gguf');
		expect(readme).toContain('ollama create socrates -f Modelfile');
		expect(readme).toContain('convert_hf_to_gguf.py gemma-2-2b-jpn-it --outtype f16');
		expect(readme).toMatch(/lora_b of 21 module\(s\) was multiplied/); // rsLoRA, r = 2
	});

	it('dataset zip: train.jsonl, eval.jsonl in TRL’s format and a README', () => {
		const ds: Dataset = {
			id: 'd',
			name: 'socrates set',
			origin: 'generated' as Dataset['origin'],
			train: [
				{
					messages: [
						{ role: 'user', content: 'Hi' },
						{ role: 'model', content: 'Hello' }
					]
				}
			],
			eval: [
				{
					messages: [
						{ role: 'user', content: 'Q' },
						{ role: 'model', content: 'A' }
					]
				}
			],
			createdAt: 0,
			updatedAt: 0
		};
		const z = datasetZip(ds);
		expect(z.fileName).toBe('socrates-set.zip');
		const files = unzipSync(z.bytes);
		expect(Object.keys(files).sort()).toEqual(['README.md', 'eval.jsonl', 'train.jsonl']);
		expect(JSON.parse(dec.decode(files['train.jsonl']))).toEqual({
			messages: [
				{ role: 'user', content: 'Hi' },
				{ role: 'assistant', content: 'Hello' }
			]
		});
		const readme = dec.decode(files['README.md']);
		expect(readme).toContain(
			'load_dataset("json", data_files={"train": "train.jsonl", "eval": "eval.jsonl"})'
		);
		expect(readme).toContain('| `train.jsonl` | 1 |');
	});
});

describe('npm run engine -- export-gguf (Node only)', { timeout: 60_000 }, () => {
	const cli = (...args: string[]) =>
		spawnSync(process.execPath, ['--import', 'tsx', 'scripts/engine-cli.ts', ...args], {
			encoding: 'utf8',
			timeout: 120_000
		});
	it('folder → FILE.gguf + Modelfile + README.md naming FILE.gguf', () => {
		const folder = join(dir, 'gemma-2-2b-socrates-v2');
		mkdirSync(folder);
		const f = peftFiles();
		for (const [k, v] of Object.entries(f)) writeFileSync(join(folder, k), v);
		const out = join(dir, 'out', 'socrates.gguf');
		const r = cli('export-gguf', '--adapter', folder, '--out', out, '--dtype', 'f32');
		expect(r.status, r.stderr).toBe(0);
		expect(r.stderr).toContain('export-gguf: 21 modules, F32');
		const gguf = new Uint8Array(readFileSync(out));
		const adapter = readPeftForGguf(
			dec.decode(f['adapter_config.json']),
			f['adapter_model.safetensors']
		);
		expect(gguf).toEqual(
			ggufLoraFile(adapter, { dtype: 'f32', folderName: 'gemma-2-2b-socrates-v2' })
		);
		expect(readFileSync(join(dir, 'out', 'Modelfile'), 'utf8')).toContain(
			'ADAPTER ./socrates.gguf'
		);
		expect(readFileSync(join(dir, 'out', 'README.md'), 'utf8')).toContain('--lora socrates.gguf');
	});
	it('bad input: a usage error naming the flag, exit 2', () => {
		const r = cli('export-gguf', '--adapter', join(dir, 'nope'), '--out', 'x.gguf');
		expect(r.status).toBe(2);
		expect(r.stderr).toContain('--adapter: nothing at');
		const d = cli('export-gguf', '--adapter', dir, '--out', 'x.gguf', '--dtype', 'q8_0');
		expect(d.status).toBe(2);
		expect(d.stderr).toContain('--dtype: expected f32 or f16, got "q8_0"');
	});
});
