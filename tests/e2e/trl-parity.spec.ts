/**
 * The exported TRL project re-runs the studio's training: on the tiny model, the studio's run
 * (`engine train --init-adapter`) and `train.py` of `engine export-run` (Python, CPU, float32, same
 * initial adapter, no shuffling, no dropout) log the same losses in trainer_state.json and end with
 * the same adapter. The Python side tokenizes every conversation exactly as the studio does.
 *
 * Needs a Python with torch, transformers, peft and trl: MONDO_PYTHON (default python3). Without it
 * the tests are skipped and say so (CI has no trl). Nothing reaches the network (HF_HUB_OFFLINE).
 */
import { expect, test } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { chatToExample } from '../../src/lib/lora/examples';
import { exportPeftFiles, importPeftFolder } from '../../src/lib/lora/peft';
import { filesFromMap } from '../../src/lib/model/files';
import { loadModel } from '../../src/lib/model/load';
import { loadTokenizer } from '../../src/lib/model/tokenizer';
import { folderMap } from './folder-map';

const PYTHON = process.env.MONDO_PYTHON ?? 'python3';
const MODEL = 'fixtures/tiny-hf';
const tmp = mkdtempSync(join(tmpdir(), 'trl-parity-'));
const pythonEnv = {
	...process.env,
	HF_HUB_OFFLINE: '1',
	TRANSFORMERS_OFFLINE: '1',
	PYTHONHASHSEED: '0'
};

/** Why the Python side cannot run here, or null when it can. */
function pythonMissing(): string | null {
	const r = spawnSync(
		PYTHON,
		[
			'-c',
			'import torch, transformers, peft, trl; print(transformers.__version__, trl.__version__)'
		],
		{ encoding: 'utf8', env: pythonEnv, timeout: 240_000 }
	);
	if (r.error) return `${PYTHON} cannot run (${r.error.message})`;
	if (r.status !== 0)
		return `${PYTHON} has no torch/transformers/peft/trl (${r.stderr.trim().split('\n').at(-1)})`;
	return null;
}
const missing = pythonMissing();
if (missing)
	console.warn(`trl-parity.spec.ts skipped: ${missing}; set MONDO_PYTHON to a python with trl`);

const folder = folderMap;

function engine(args: string[]): void {
	execFileSync('node_modules/.bin/tsx', ['scripts/engine-cli.ts', ...args], {
		stdio: ['ignore', 'ignore', 'pipe'],
		timeout: 540_000
	});
}

/** Conversations in the tiny vocabulary: single and multi-turn, Japanese and English pieces. */
const CHATS = [
	[
		['user', 'こんにちは the you'],
		['assistant', '日本語 ing'],
		['user', 'in the end'],
		['assistant', 'you are here']
	],
	[
		['user', 'the and in'],
		['assistant', 'です on it']
	],
	[
		['user', 'at the end'],
		['assistant', 'or all the is']
	],
	[
		['user', 'you said'],
		['assistant', 'こんにちは です'],
		['user', 'is it'],
		['assistant', 'the one']
	],
	[
		['user', 'where are'],
		['assistant', 'in the sea']
	]
].map((turns) => ({ messages: turns.map(([role, content]) => ({ role, content })) }));

const CONFIG = {
	learning_rate: 5e-3,
	max_steps: 4,
	per_device_train_batch_size: 2,
	gradient_accumulation_steps: 2,
	lr_scheduler_type: 'cosine',
	warmup_steps: 1,
	weight_decay: 0.05,
	max_grad_norm: 0.5,
	adam_epsilon: 1e-6,
	logging_steps: 1,
	save_strategy: 'no',
	shuffle: false,
	seed: 0,
	r: 4,
	lora_alpha: 8,
	lora_dropout: 0,
	target_modules: 'all-linear'
};

/** An initial adapter whose B is not zero (PEFT's own init is the identity), on every projection. */
function initAdapter(config: Parameters<typeof createLoraAdapter>[0]): LoraAdapter {
	const a = createLoraAdapter(
		config,
		{ ...LORA_DEFAULTS, r: 4, lora_alpha: 8, target_modules: 'all-linear' },
		11
	);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround(Math.sin(5 * i + m.layer) * 0.1);
	return a;
}

test.describe.configure({ timeout: 900_000 });
test.skip(missing !== null, `no Python with trl: ${missing} (set MONDO_PYTHON)`);

test('train.py tokenizes every conversation exactly as the studio (template, pieces, labels)', async () => {
	const project = join(tmp, 'tokenize-project');
	const data = join(tmp, 'chats.jsonl');
	writeFileSync(data, CHATS.map((c) => JSON.stringify(c)).join('\n') + '\n');
	writeFileSync(join(tmp, 'config.json'), JSON.stringify(CONFIG));
	engine([
		'export-run',
		'--data',
		data,
		'--config',
		join(tmp, 'config.json'),
		'--model',
		MODEL,
		'--out',
		project
	]);
	const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(resolve(project))})
import train
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(${JSON.stringify(resolve(MODEL))})
print(json.dumps([train.tokenize(json.loads(l)["messages"], tok, i) for i, l in enumerate(open(sys.argv[1]))]))
`;
	const got = JSON.parse(
		execFileSync(PYTHON, ['-c', script, join(project, 'data', 'train.jsonl')], {
			encoding: 'utf8',
			env: pythonEnv
		})
	) as { input_ids: number[]; labels: number[] }[];
	const tokenizer = await loadTokenizer(filesFromMap(folder(MODEL), MODEL));
	const want = CHATS.map((c, i) => chatToExample(c, tokenizer, {}, i + 1));
	expect(got).toEqual(want);
	expect(want[0].labels.filter((l) => l === 107)).toHaveLength(2); // both model turns' <end_of_turn>
});

test('the exported project (TRL, CPU, float32) logs the studio run’s losses and ends with its adapter', async () => {
	const model = await loadModel(filesFromMap(folder(MODEL), MODEL));
	const initDir = join(tmp, 'init');
	mkdirSync(initDir, { recursive: true });
	for (const [k, v] of Object.entries(
		exportPeftFiles(model.config, initAdapter(model.config), { baseModel: resolve(MODEL) })
	))
		writeFileSync(join(initDir, k), v);
	const data = join(tmp, 'train.jsonl');
	writeFileSync(data, CHATS.map((c) => JSON.stringify(c)).join('\n') + '\n');
	const config = join(tmp, 'train.json');
	writeFileSync(config, JSON.stringify(CONFIG));

	const studioDir = join(tmp, 'studio');
	engine([
		'train',
		'--model',
		MODEL,
		'--data',
		data,
		'--config',
		config,
		'--init-adapter',
		initDir,
		'--out',
		studioDir
	]);
	const project = join(tmp, 'project');
	engine(['export-run', '--data', data, '--config', config, '--model', MODEL, '--out', project]);
	const pythonDir = join(tmp, 'python');
	execFileSync(
		PYTHON,
		[
			'train.py',
			'--use_cpu',
			'true',
			'--dtype',
			'float32',
			'--init_adapter',
			initDir,
			'--output_dir',
			pythonDir
		],
		{ cwd: project, env: pythonEnv, stdio: ['ignore', 'ignore', 'pipe'], timeout: 540_000 }
	);

	type Entry = Record<string, number>;
	const studio = JSON.parse(readFileSync(join(studioDir, 'trainer_state.json'), 'utf8'));
	const python = JSON.parse(readFileSync(join(pythonDir, 'trainer_state.json'), 'utf8'));
	for (const key of [
		'global_step',
		'max_steps',
		'num_train_epochs',
		'logging_steps',
		'train_batch_size'
	])
		expect(studio[key], key).toBe(python[key]);
	const steps = (s: { log_history: Entry[] }) => s.log_history.filter((e) => 'loss' in e);
	const [a, b] = [steps(studio), steps(python)];
	expect(a.map((e) => e.step)).toEqual([1, 2, 3, 4]);
	expect(b.map((e) => e.step)).toEqual([1, 2, 3, 4]);
	const figures: string[] = [];
	a.forEach((e, i) => {
		figures.push(
			`step ${e.step}: loss ${e.loss} vs ${b[i].loss}, grad_norm ${e.grad_norm} vs ${b[i].grad_norm}`
		);
		expect(Math.abs(e.loss - b[i].loss), `loss at step ${e.step}`).toBeLessThan(1e-3);
		expect(
			Math.abs(e.grad_norm - b[i].grad_norm) / b[i].grad_norm,
			`grad_norm at step ${e.step}`
		).toBeLessThan(1e-3);
		expect(e.learning_rate).toBeCloseTo(b[i].learning_rate, 12);
		expect(e.epoch).toBeCloseTo(b[i].epoch, 12);
	});
	const trainLoss = (s: { log_history: Entry[] }) => s.log_history.at(-1)!.train_loss;
	expect(Math.abs(trainLoss(studio) - trainLoss(python))).toBeLessThan(1e-3);

	const peft = (dir: string) =>
		importPeftFolder(
			model.config,
			new Map(
				[...folder(dir)].filter(([name]) =>
					/^adapter_(config\.json|model\.safetensors)$/.test(name)
				)
			)
		).adapter;
	const studioAdapter = peft(studioDir);
	const pythonAdapter = peft(pythonDir);
	expect([...pythonAdapter.modules.keys()].sort()).toEqual(
		[...studioAdapter.modules.keys()].sort()
	);
	let worst = 0;
	for (const [name, m] of studioAdapter.modules) {
		const p = pythonAdapter.modules.get(name)!;
		for (const [x, y] of [
			[m.A, p.A],
			[m.B, p.B]
		]) {
			let diff = 0;
			let scale = 1e-12;
			for (let i = 0; i < x.length; i++) {
				diff = Math.max(diff, Math.abs(x[i] - y[i]));
				scale = Math.max(scale, Math.abs(y[i]));
			}
			worst = Math.max(worst, diff / scale);
		}
	}
	figures.push(
		`adapter: largest |studio − python| / max |python| over all tensors = ${worst.toExponential(2)}`
	);
	console.log(figures.join('\n'));
	expect(worst).toBeLessThan(1e-2);
});
