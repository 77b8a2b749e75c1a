import { unzipSync, strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
	parseTrainingConfig,
	SEED_PRESET,
	QUICK_CLASSROOM_PRESET
} from '../../src/lib/lora/config';
import {
	DEFAULT_HF_BASE_MODEL,
	hfBaseModelFor,
	peftLoraConfigFor,
	sftConfigFor,
	trlProjectFiles,
	trlProjectZip,
	type ChatExample
} from '../../src/lib/export/trl-project';
import { runTrainerState, trlProjectDownload } from '../../src/lib/export/run-files';

const chat = (...turns: [string, string][]): ChatExample => ({
	messages: turns.map(([role, content]) => ({ role, content }))
});
const TRAIN = [
	chat(['user', 'ソクラテスさん。\n正義とは？'], ['model', '君はどう思うかね？']),
	chat(['user', 'a'], ['model', 'b'], ['user', 'c'], ['model', 'd'])
];
const EVAL = [chat(['user', 'x'], ['assistant', 'y'])];

describe('the Hugging Face original of a studio model', () => {
	it('maps MLC conversions (hub id, revision, served folder, local folder) to google/<name>', () => {
		expect(hfBaseModelFor('mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC')).toBe('google/gemma-2-2b-jpn-it');
		expect(hfBaseModelFor('mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC@main')).toBe(DEFAULT_HF_BASE_MODEL);
		expect(hfBaseModelFor('/models/gemma-2-2b-it-q4f32_1-MLC/')).toBe('google/gemma-2-2b-it');
		expect(hfBaseModelFor('local:gemma-2-9b-it-q4f16_1-MLC')).toBe('google/gemma-2-9b-it');
	});
	it('keeps a Hugging Face id, and knows nothing of other folders', () => {
		expect(hfBaseModelFor('google/gemma-2-2b-jpn-it')).toBe('google/gemma-2-2b-jpn-it');
		expect(hfBaseModelFor('local:my-model')).toBeNull();
		expect(hfBaseModelFor('test-org/tiny-gemma2-mlc-q4f16_1-MLC')).toBeNull();
	});
});

describe('TrainingArguments → transformers 5 / TRL SFTConfig', () => {
	it('the seeds’ preset: warmup_ratio becomes a fractional warmup_steps, shuffle the sampler, the judge metric eval_loss', () => {
		const sft = sftConfigFor(SEED_PRESET.training, { numTrain: 100, numEval: 20 });
		expect(sft).toMatchObject({
			learning_rate: 8e-5,
			num_train_epochs: 30,
			lr_scheduler_type: 'cosine_with_restarts',
			warmup_steps: 0.25,
			weight_decay: 0.06,
			per_device_train_batch_size: 2,
			gradient_accumulation_steps: 8,
			max_grad_norm: 0.5,
			eval_strategy: 'steps',
			eval_steps: 20,
			save_steps: 20,
			logging_steps: 50,
			save_total_limit: 2,
			load_best_model_at_end: true,
			metric_for_best_model: 'eval_loss',
			greater_is_better: false,
			train_sampling_strategy: 'random',
			optim: 'adamw_torch',
			max_length: null
		});
		expect(sft).not.toHaveProperty('warmup_ratio');
		expect(sft).not.toHaveProperty('shuffle');
	});
	it('shuffle false is the sequential sampler; warmup_steps wins; no eval data turns evaluation off', () => {
		const t = parseTrainingConfig({
			shuffle: false,
			warmup_steps: 3,
			warmup_ratio: 0.5,
			eval_strategy: 'steps',
			save_strategy: 'best',
			load_best_model_at_end: true
		}).training;
		expect(sftConfigFor(t, { numTrain: 10, numEval: 0 })).toMatchObject({
			train_sampling_strategy: 'sequential',
			warmup_steps: 3,
			eval_strategy: 'no',
			save_strategy: 'no',
			load_best_model_at_end: false,
			metric_for_best_model: null
		});
	});
	it('warmup_ratio 1 is every step (a float warmup_steps must stay below 1)', () => {
		const t = parseTrainingConfig({ warmup_ratio: 1, max_steps: 7 }).training;
		expect(sftConfigFor(t, { numTrain: 10, numEval: 0 }).warmup_steps).toBe(7);
	});
	it('LoraConfig keeps PEFT’s names; one regex or "all-linear" is a one-entry list', () => {
		expect(peftLoraConfigFor(QUICK_CLASSROOM_PRESET.lora)).toMatchObject({
			r: 4,
			lora_alpha: 8,
			target_modules: QUICK_CLASSROOM_PRESET.lora.target_modules
		});
		const l = parseTrainingConfig({ target_modules: 'all-linear', use_rslora: true }).lora;
		expect(peftLoraConfigFor(l)).toMatchObject({
			target_modules: ['all-linear'],
			use_rslora: true
		});
	});
});

describe('the project files', () => {
	const files = trlProjectFiles({
		train: TRAIN,
		eval: EVAL,
		...SEED_PRESET,
		baseModel: DEFAULT_HF_BASE_MODEL,
		studioModel: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC',
		runName: 'Socrates'
	});

	it('has the data, train.py, run_config.json, requirements, accelerate configs, Slurm and README', () => {
		expect(Object.keys(files).sort()).toEqual([
			'README.md',
			'accelerate/fsdp.yaml',
			'accelerate/multi_gpu.yaml',
			'accelerate/single_gpu.yaml',
			'accelerate/zero3.yaml',
			'data/eval.jsonl',
			'data/train.jsonl',
			'requirements.txt',
			'run_config.json',
			'slurm/train.sbatch',
			'train.py'
		]);
	});

	it('data: the same examples in order, TRL’s conversational format (model → assistant)', () => {
		const rows = files['data/train.jsonl']
			.trimEnd()
			.split('\n')
			.map((l) => JSON.parse(l));
		expect(rows).toHaveLength(2);
		expect(rows[0]).toEqual({
			messages: [
				{ role: 'user', content: 'ソクラテスさん。\n正義とは？' },
				{ role: 'assistant', content: '君はどう思うかね？' }
			]
		});
		expect(rows[1].messages.map((m: { role: string }) => m.role)).toEqual([
			'user',
			'assistant',
			'user',
			'assistant'
		]);
		expect(JSON.parse(files['data/eval.jsonl']).messages[1]).toEqual({
			role: 'assistant',
			content: 'y'
		});
	});

	it('run_config.json holds the base model and the mapped settings train.py reads', () => {
		const run = JSON.parse(files['run_config.json']);
		expect(run.model_name_or_path).toBe('google/gemma-2-2b-jpn-it');
		expect(run.sft).toEqual(sftConfigFor(SEED_PRESET.training, { numTrain: 2, numEval: 1 }));
		expect(run.lora).toEqual(peftLoraConfigFor(SEED_PRESET.lora));
	});

	it('requirements are pinned; the README names the model, the commands and the differences', () => {
		for (const line of files['requirements.txt'].split('\n').filter((l) => l && !l.startsWith('#')))
			expect(line).toMatch(/^[a-z]+==\d+\.\d+\.\d+$/);
		const readme = files['README.md'];
		for (const text of [
			'google/gemma-2-2b-jpn-it',
			'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC',
			'accelerate launch --config_file accelerate/single_gpu.yaml train.py',
			'accelerate launch --config_file accelerate/multi_gpu.yaml --num_processes 4 train.py',
			'accelerate/fsdp.yaml',
			'accelerate/zero3.yaml',
			'sbatch slurm/train.sbatch',
			'--use_cpu true --dtype float32',
			'What differs from the browser run',
			'combined_score'
		])
			expect(readme, text).toContain(text);
		expect(files['slurm/train.sbatch']).toMatch(/^#!\/bin\/bash\n#SBATCH/);
		expect(files['slurm/train.sbatch']).toContain('--machine_rank \\$SLURM_NODEID');
		expect(files['accelerate/fsdp.yaml']).toContain(
			'fsdp_transformer_layer_cls_to_wrap: Gemma2DecoderLayer'
		);
		expect(files['accelerate/zero3.yaml']).toContain('zero_stage: 3');
	});

	it('a bad example names the file, the line and the field', () => {
		expect(() =>
			trlProjectFiles({
				train: [TRAIN[0], chat(['user', 'a'], ['user', 'b'])],
				eval: [],
				...SEED_PRESET,
				baseModel: 'x/y'
			})
		).toThrow('data/train.jsonl line 2, messages[1].role: expected model');
		expect(() =>
			trlProjectFiles({ train: [], eval: [], ...SEED_PRESET, baseModel: 'x/y' })
		).toThrow('no training examples');
	});

	it('zips every file under one folder', () => {
		const zip = unzipSync(trlProjectZip(files, 'socrates-trl'));
		expect(Object.keys(zip).sort()).toEqual(
			Object.keys(files)
				.map((p) => `socrates-trl/${p}`)
				.sort()
		);
		expect(strFromU8(zip['socrates-trl/train.py'])).toBe(files['train.py']);
	});
});

describe('the Train page’s run files', () => {
	it('the project of a run maps its studio model to the Hugging Face original', () => {
		const { fileName, bytes } = trlProjectDownload(
			{
				name: 'Socrates · r8',
				modelId: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC@main',
				trainingArgs: { ...QUICK_CLASSROOM_PRESET.training },
				loraConfig: { ...QUICK_CLASSROOM_PRESET.lora }
			},
			{ train: TRAIN, eval: EVAL }
		);
		expect(fileName).toBe('Socrates-r8-trl.zip');
		const run = JSON.parse(strFromU8(unzipSync(bytes)['Socrates-r8-trl/run_config.json']));
		expect(run.model_name_or_path).toBe('google/gemma-2-2b-jpn-it');
	});

	it('trainer_state.json of a run from its stored metrics', () => {
		const text = runTrainerState(
			{
				trainingArgs: { per_device_train_batch_size: 1, max_steps: 2, logging_steps: 1 },
				loraConfig: {},
				metrics: [
					{ step: 1, epoch: 0.5, loss: 3, learningRate: 1e-4, gradNorm: 2, time: 0 },
					{ step: 2, epoch: 1, loss: 1, learningRate: 5e-5, gradNorm: 1, time: 1 }
				]
			},
			2
		);
		const state = JSON.parse(text);
		expect(state.log_history.map((e: { loss?: number }) => e.loss)).toEqual([3, 1, undefined]);
		expect(state.log_history[2]).toMatchObject({ train_loss: 2, step: 2 });
	});
});
