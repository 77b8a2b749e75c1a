/**
 * The engine CLI's LoRA commands (forward/generate --adapter, loss, train), compared in Node with the
 * float64 CPU reference on the same fixture files and the same PEFT adapter files.
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesFromMap } from '../../src/lib/model/files';
import { loadModel } from '../../src/lib/model/load';
import { adapterTensors, createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles, exportPeftZip, importPeftFolder } from '../../src/lib/lora/peft';
import { adamwStep, clipGradNorm, createAdamWState } from '../../src/lib/reference/adamw';
import {
	referenceAccumulatedLossAndGrads,
	referenceLossAndGrads
} from '../../src/lib/reference/backward';
import {
	referenceForward,
	referenceGenerate,
	toReferenceLora
} from '../../src/lib/reference/gemma2';
import type { Gemma2Config } from '../../src/lib/model/config';
import { folderMap } from './folder-map';

const tmp = mkdtempSync(join(tmpdir(), 'engine-cli-train-'));
const MODEL = 'fixtures/tiny-hf';
const TOKENS = [2, 106, 300, 301, 302, 303, 304, 107, 108, 400];

const folder = folderMap;

function engine(
	args: string[],
	out = join(tmp, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.json`)
): string {
	execFileSync('node_modules/.bin/tsx', ['scripts/engine-cli.ts', ...args, '--out', out], {
		stdio: ['ignore', 'ignore', 'pipe'],
		timeout: 340_000 // a guard: two spec files run at once on CI's two cores
	});
	return out;
}

/** An adapter whose B is not zero (a fresh one is the identity), over every projection. */
function testAdapter(
	c: Gemma2Config,
	seed: number,
	lc: Partial<typeof LORA_DEFAULTS> = {}
): LoraAdapter {
	const a = createLoraAdapter(
		c,
		{ ...LORA_DEFAULTS, r: 4, lora_alpha: 8, target_modules: 'all-linear', ...lc },
		seed
	);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++)
			m.B[i] = Math.fround(Math.sin(7 * i + m.layer + seed) * 0.2);
	return a;
}

function writeAdapter(c: Gemma2Config, a: LoraAdapter, name: string): string {
	const dir = join(tmp, name);
	mkdirSync(dir, { recursive: true });
	for (const [k, v] of Object.entries(exportPeftFiles(c, a, { baseModel: 'tiny' })))
		writeFileSync(join(dir, k), v);
	return dir;
}

/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
	expect(a.length).toBe(b.length);
	let num = 0,
		den = 1e-12;
	for (let i = 0; i < a.length; i++) {
		num = Math.max(num, Math.abs(a[i] - b[i]));
		den = Math.max(den, Math.abs(b[i]));
	}
	return num / den;
}

test.describe.configure({ timeout: 360_000 });

test('forward --adapter (a PEFT folder) matches referenceForward with the LoRA within 1e-4', async () => {
	const model = await loadModel(filesFromMap(folder(MODEL), MODEL));
	const adapter = testAdapter(model.config, 1, {
		rank_pattern: { 'layers\\.1\\.mlp\\.up_proj': 2 }
	});
	const dir = writeAdapter(model.config, adapter, 'fwd-adapter');
	// what the CLI reads is what Node reads
	const imported = importPeftFolder(model.config, folder(dir)).adapter;
	const { logits } = JSON.parse(
		readFileSync(
			engine(['forward', '--model', MODEL, '--tokens', TOKENS.join(','), '--adapter', dir]),
			'utf8'
		)
	) as { logits: number[][] };
	const want = referenceForward(model.weights, TOKENS, { lora: toReferenceLora(imported) });
	expect(relErr(referenceForward(model.weights, TOKENS), want)).toBeGreaterThan(1e-3); // the adapter matters
	expect(relErr(logits.flat(), want)).toBeLessThan(1e-4);
});

test('generate --adapter takes the studio zip and matches the reference greedy tokens', async () => {
	const model = await loadModel(filesFromMap(folder(MODEL), MODEL));
	const adapter = testAdapter(model.config, 2);
	const zip = join(tmp, 'studio-adapter.zip');
	writeFileSync(zip, exportPeftZip(model.config, adapter, { baseModel: 'tiny' }));
	const prompt = TOKENS.slice(0, 6);
	const { tokens } = JSON.parse(
		readFileSync(
			engine([
				'generate',
				'--model',
				MODEL,
				'--tokens',
				prompt.join(','),
				'--max-new-tokens',
				'6',
				'--adapter',
				zip
			]),
			'utf8'
		)
	) as { tokens: number[] };
	expect(tokens).toEqual(
		referenceGenerate(model.weights, prompt, 6, [1, 107], toReferenceLora(adapter))
	);
});

test('loss --adapter: loss and every PEFT gradient match referenceLossAndGrads (relative error ≤ 1e-3)', async () => {
	const model = await loadModel(filesFromMap(folder(MODEL), MODEL));
	const adapter = testAdapter(model.config, 3);
	const dir = writeAdapter(model.config, adapter, 'loss-adapter');
	const labels = TOKENS.map((t, i) => (i < 3 ? -100 : t));
	const got = JSON.parse(
		readFileSync(
			engine([
				'loss',
				'--model',
				MODEL,
				'--tokens',
				TOKENS.join(','),
				'--labels',
				labels.join(','),
				'--adapter',
				dir
			]),
			'utf8'
		)
	) as { loss: number; grads: Record<string, number[]> };
	const want = referenceLossAndGrads(model.weights, adapter, TOKENS, labels);
	expect(Math.abs(got.loss - want.loss) / want.loss).toBeLessThan(1e-4);
	expect(Object.keys(got.grads).sort()).toEqual([...want.grads.keys()].sort());
	for (const [k, g] of want.grads) expect(relErr(got.grads[k], g), k).toBeLessThan(1e-3);
});

test('train (3 steps, shuffle false, --init-adapter) matches a CPU run of the reference + torch AdamW', async () => {
	const model = await loadModel(filesFromMap(folder(MODEL), MODEL));
	const init = testAdapter(model.config, 4, { target_modules: ['q_proj', 'v_proj', 'down_proj'] });
	const initDir = writeAdapter(model.config, init, 'train-init');
	const examples = [
		[2, 106, 300, 301, 107, 108, 106, 400, 401, 402, 107],
		[2, 106, 310, 311, 312, 107, 108, 106, 410, 411, 107],
		[2, 106, 320, 107, 108, 106, 420, 421, 422, 423, 107],
		[2, 106, 330, 331, 107, 108, 106, 430, 107],
		[2, 106, 340, 341, 342, 343, 107, 108, 106, 440, 441, 107]
	].map((ids) => ({
		input_ids: ids,
		labels: ids.map((t, i) => (i > ids.indexOf(106, 2) ? t : -100))
	}));
	const data = join(tmp, 'train.jsonl');
	writeFileSync(data, examples.map((e) => JSON.stringify(e)).join('\n') + '\n');
	const args = {
		learning_rate: 5e-3,
		max_steps: 3,
		per_device_train_batch_size: 2,
		gradient_accumulation_steps: 2,
		lr_scheduler_type: 'linear',
		warmup_steps: 1,
		weight_decay: 0.05,
		max_grad_norm: 0.3,
		adam_epsilon: 1e-4,
		shuffle: false,
		seed: 0,
		logging_steps: 2
	};
	const config = join(tmp, 'train.json');
	writeFileSync(config, JSON.stringify(args));
	const outDir = join(tmp, 'trained');
	engine(
		['train', '--model', MODEL, '--data', data, '--config', config, '--init-adapter', initDir],
		outDir
	);
	const trained = importPeftFolder(model.config, folder(outDir)).adapter;
	expect(
		JSON.parse(readFileSync(join(outDir, 'adapter_config.json'), 'utf8')).target_modules.sort()
	).toEqual(['down_proj', 'q_proj', 'v_proj']);

	// CPU: 5 examples, batches [0,1] [2,3] [4] per epoch; steps = ([0,1],[2,3]), ([4]), ([0,1],[2,3])
	const ref = structuredClone(init);
	const params = adapterTensors(ref);
	const state = createAdamWState(params);
	const steps = [[0, 1, 2, 3], [4], [0, 1, 2, 3]];
	const total = 3;
	const losses: number[] = [];
	const gradNorms: number[] = [];
	steps.forEach((idx, step) => {
		const r = referenceAccumulatedLossAndGrads(
			model.weights,
			ref,
			idx.map((i) => ({ ids: examples[i].input_ids, labels: examples[i].labels }))
		);
		losses.push(r.loss);
		gradNorms.push(clipGradNorm(r.grads, args.max_grad_norm));
		// linear with 1 warmup step: factor 0, then (3 − s) / 2
		const lr = args.learning_rate * (step < 1 ? 0 : (total - step) / (total - 1));
		adamwStep(params, r.grads, state, {
			lr,
			beta1: 0.9,
			beta2: 0.999,
			eps: args.adam_epsilon,
			weightDecay: args.weight_decay
		});
	});
	// trainer_state.json: one log entry at step 2 (the mean of steps 1–2), then the final entry
	const trainerState = JSON.parse(readFileSync(join(outDir, 'trainer_state.json'), 'utf8'));
	expect(trainerState).toMatchObject({
		global_step: 3,
		max_steps: 3,
		logging_steps: 2,
		train_batch_size: 2
	});
	const [logged, final] = trainerState.log_history;
	expect(trainerState.log_history).toHaveLength(2);
	expect(logged).toMatchObject({ step: 2, epoch: 1, learning_rate: args.learning_rate });
	expect(Math.abs(logged.loss - (losses[0] + losses[1]) / 2)).toBeLessThan(1e-4 * logged.loss);
	expect(Math.abs(logged.grad_norm - gradNorms[1])).toBeLessThan(1e-3 * gradNorms[1]);
	const trainLoss = (losses[0] + losses[1] + losses[2]) / 3;
	expect(final).toMatchObject({ step: 3, total_flos: 0 });
	expect(Math.abs(final.train_loss - trainLoss)).toBeLessThan(1e-4 * trainLoss);
	for (const [name, m] of ref.modules) {
		const got = trained.modules.get(name)!;
		const i0 = init.modules.get(name)!;
		// compare the updates (trained − init), relative to the largest update of the tensor
		const delta = (a: Float32Array, b: Float32Array) => Array.from(a, (v, i) => v - b[i]);
		expect(relErr(delta(got.A, i0.A), delta(m.A, i0.A)), `${name} A`).toBeLessThan(1e-3);
		expect(relErr(delta(got.B, i0.B), delta(m.B, i0.B)), `${name} B`).toBeLessThan(1e-3);
	}
});
