/**
 * The README.md that goes into every export (PEFT adapter zip, GGUF bundle, dataset zip): what the
 * files are, the base model, how the adapter was trained or the dataset made, and how to load them
 * in Python, llama.cpp / Ollama and the studio. Pure functions of the stored records (no I/O), so a
 * model or dataset card can reuse the sections. English only: these files travel beyond the UI.
 * No YAML front matter: llama.cpp's convert_lora_to_gguf.py reads a PEFT folder's README.md front
 * matter into the GGUF's general.* keys, and the studio's GGUF export assumes there is none.
 */
import type { Adapter, Dataset, TrainingRun } from '../data/types';
import { huggingFaceBaseModel } from './base-model';
import { GGUF_ADAPTER_FILE, type OllamaBase } from './ollama';

export interface AdapterDescription {
	name: string;
	/** Hugging Face id of the base model (google/gemma-2-2b-jpn-it). */
	baseModel: string;
	/** The model the studio ran, when it is not baseModel itself (an MLC 4-bit build). */
	studioModel?: string;
	/** Unknown for a PEFT folder read from disk. */
	origin?: Adapter['origin'];
	/** adapter_config.json (PEFT LoraConfig names). */
	lora: Record<string, unknown>;
	/** TrainingArguments names of the run that trained it, when known. */
	trainingArgs?: Record<string, unknown>;
	runName?: string;
}

const LORA_KEYS = [
	'r',
	'lora_alpha',
	'use_rslora',
	'target_modules',
	'layers_to_transform',
	'rank_pattern',
	'alpha_pattern',
	'lora_dropout'
];

/**
 * The description of a PEFT adapter from its adapter_config.json; the base model is the config's
 * base_model_name_or_path (else `fallbackModel`), mapped from an MLC build to its original.
 */
export function describePeftConfig(
	name: string,
	configJson: string,
	fallbackModel: string
): AdapterDescription {
	const config = JSON.parse(configJson) as Record<string, unknown>;
	const recorded =
		typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : '';
	const studioModel = recorded || fallbackModel;
	const baseModel = huggingFaceBaseModel(studioModel);
	return {
		name,
		baseModel,
		studioModel: studioModel !== baseModel ? studioModel : undefined,
		lora: Object.fromEntries(LORA_KEYS.filter((k) => k in config).map((k) => [k, config[k]]))
	};
}

/** The description of a stored adapter (and the run that trained it, if any). */
export function describeAdapterRecord(a: Adapter, run?: TrainingRun): AdapterDescription {
	return {
		...describePeftConfig(a.name, a.configJson, a.base.model),
		origin: a.origin,
		trainingArgs: run?.trainingArgs,
		runName: run?.name
	};
}

const cell = (v: unknown) =>
	(typeof v === 'string' ? v : JSON.stringify(v)).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A two-column Markdown table of name → value. */
export function keyValueTable(header: [string, string], rows: [string, unknown][]): string {
	return [
		`| ${header[0]} | ${header[1]} |`,
		'| --- | --- |',
		...rows.map(([k, v]) => `| \`${k}\` | ${cell(v)} |`)
	].join('\n');
}

const ORIGIN_TEXT: Record<Adapter['origin'], string> = {
	trained: 'trained in Mondō Studio (LoRA, in the browser, on WebGPU)',
	imported: 'imported into Mondō Studio',
	curated: 'one of Mondō Studio’s built-in adapters',
	mixed: 'a weighted mix of adapters made in Mondō Studio'
};

const originText = (d: AdapterDescription) => (d.origin ? `, ${ORIGIN_TEXT[d.origin]}` : '');

/** Base model, LoRA configuration and training arguments. */
export function adapterFactsSection(d: AdapterDescription): string {
	const base = d.studioModel
		? `\`${d.baseModel}\` (the studio ran \`${d.studioModel}\`, a 4-bit build of the same weights; the adapter applies to the original).`
		: `\`${d.baseModel}\``;
	const args = d.trainingArgs
		? keyValueTable(['TrainingArguments', 'value'], Object.entries(d.trainingArgs))
		: 'Not recorded with this adapter.';
	return [
		'## Base model',
		'',
		base,
		'',
		'## LoRA configuration',
		'',
		keyValueTable(['LoraConfig', 'value'], Object.entries(d.lora)),
		'',
		`## Training arguments${d.runName ? ` (run “${d.runName}”)` : ''}`,
		'',
		args
	].join('\n');
}

/** Python: transformers + PEFT, chatting with Gemma's chat template. */
export function peftUsageSection(baseModel: string, folder: string): string {
	return [
		'## Use it in Python (Transformers + PEFT)',
		'',
		'```python',
		'import torch',
		'from transformers import AutoModelForCausalLM, AutoTokenizer',
		'from peft import PeftModel',
		'',
		`base = AutoModelForCausalLM.from_pretrained("${baseModel}", torch_dtype=torch.bfloat16)`,
		`model = PeftModel.from_pretrained(base, "${folder}")  # this folder`,
		`tokenizer = AutoTokenizer.from_pretrained("${baseModel}")`,
		'',
		'messages = [{"role": "user", "content": "What is justice?"}]',
		'ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")',
		'out = model.generate(ids, max_new_tokens=128)',
		'print(tokenizer.decode(out[0][ids.shape[1]:], skip_special_tokens=True))',
		'```',
		'',
		'`model.merge_and_unload()` gives a plain Transformers model with the adapter merged in.'
	].join('\n');
}

/** How to bring it back into the studio; `pick` says which files to choose. */
function studioSection(pick: string): string {
	return [
		'## Open it in Mondō Studio',
		'',
		`Adapters page → import → choose ${pick}. Then “Open in chat”.`
	].join('\n');
}

/** README.md of the PEFT export (adapter_config.json + adapter_model.safetensors). */
export function peftReadme(d: AdapterDescription, folder: string): string {
	return [
		`# ${d.name}`,
		'',
		`A LoRA adapter for \`${d.baseModel}\`${originText(d)}, in the Hugging Face PEFT format.`,
		'',
		keyValueTable(
			['file', 'what it is'],
			[
				['adapter_config.json', 'the PEFT LoraConfig (as `save_pretrained` writes it)'],
				['adapter_model.safetensors', 'the LoRA A and B matrices, float32, PEFT tensor names']
			]
		),
		'',
		adapterFactsSection(d),
		'',
		peftUsageSection(d.baseModel, `./${folder}`),
		'',
		'## Use it in llama.cpp, Ollama or LM Studio (GGUF)',
		'',
		'The studio’s Adapters page exports it as a GGUF LoRA with an Ollama Modelfile (“Export for',
		'llama.cpp / Ollama (GGUF)”); from a checkout of the studio:',
		'',
		'```sh',
		`npm run engine -- export-gguf --adapter ${folder}.zip --out ${folder}.gguf --dtype f16`,
		'```',
		'',
		'llama.cpp’s own `convert_lora_to_gguf.py` gives the same file, except for adapters with',
		'rsLoRA, `rank_pattern` or `alpha_pattern`: llama.cpp scales every module by lora_alpha / r, and',
		'the studio’s export folds the difference into B so the result is the same as in PEFT.',
		'',
		studioSection('this zip (or its `adapter_config.json` and `adapter_model.safetensors`)'),
		''
	].join('\n');
}

export interface GgufReadmeOptions {
	dtype: 'f32' | 'f16';
	base: OllamaBase;
	/** Modules whose B was rescaled so llama.cpp's alpha / r gives PEFT's scale. */
	foldedModules: string[];
	/** The GGUF file's name (adapter.gguf in the bundle). */
	adapterFile?: string;
}

/** README.md of the GGUF bundle (adapter.gguf + Modelfile). */
export function ggufReadme(d: AdapterDescription, o: GgufReadmeOptions): string {
	const file = o.adapterFile ?? GGUF_ADAPTER_FILE;
	const baseFile = o.base.localFile ? o.base.from.replace(/^\.\//, '') : null;
	const makeBase = baseFile
		? [
				`Ollama’s library has no build of \`${d.baseModel}\`, so the Modelfile uses a GGUF of the`,
				'original that you make once with llama.cpp (the LoRA must go on the weights it was trained on):',
				'',
				'```sh',
				`hf download ${d.baseModel} --local-dir ${d.baseModel.split('/').pop()}   # accept Gemma's terms on the Hub first`,
				`python llama.cpp/convert_hf_to_gguf.py ${d.baseModel.split('/').pop()} --outtype f16 --outfile ${baseFile}`,
				'```',
				'',
				'A quantized base (`llama-quantize … Q4_K_M`) also works with the adapter, slightly less exactly.'
			].join('\n')
		: `The Modelfile uses Ollama’s \`${o.base.from}\`: the same weights as \`${d.baseModel}\`.`;
	const cliBase = baseFile ?? `${d.baseModel.split('/').pop()}-f16.gguf`;
	const folded = o.foldedModules.length
		? `The adapter uses rsLoRA or per-module rank/alpha patterns; llama.cpp scales every module by lora_alpha / r, so lora_b of ${o.foldedModules.length} module(s) was multiplied by (PEFT scale) / (lora_alpha / r): llama.cpp computes exactly what PEFT computes.`
		: 'Every module has PEFT’s plain scale lora_alpha / r: the file is byte for byte what llama.cpp’s `convert_lora_to_gguf.py` writes for this adapter.';
	return [
		`# ${d.name} — GGUF LoRA for llama.cpp, Ollama and LM Studio`,
		'',
		`A LoRA adapter for \`${d.baseModel}\`${originText(d)}, as a GGUF LoRA file.`,
		'',
		keyValueTable(
			['file', 'what it is'],
			[
				[
					file,
					`GGUF v3 LoRA (general.architecture gemma2, adapter.type lora), ${o.dtype.toUpperCase()} tensors`
				],
				['Modelfile', 'Ollama: the base model, this adapter, Gemma’s chat template and stop words'],
				['README.md', 'this file']
			]
		),
		'',
		'## The base model',
		'',
		makeBase,
		'',
		'## llama.cpp',
		'',
		'```sh',
		`llama-cli -m ${cliBase} --lora ${file} -cnv`,
		`llama-server -m ${cliBase} --lora ${file}        # OpenAI-compatible server`,
		`llama-cli -m ${cliBase} --lora-scaled ${file} 0.5 -cnv   # half strength`,
		'```',
		'',
		'## Ollama',
		'',
		'```sh',
		`ollama create ${slug(d.name)} -f Modelfile`,
		`ollama run ${slug(d.name)}`,
		'```',
		'',
		'## LM Studio and other llama.cpp apps',
		'',
		`They take the same two files where they offer LoRA adapters: the base GGUF and \`${file}\`.`,
		'',
		'## How the file was made',
		'',
		folded,
		'',
		adapterFactsSection(d),
		'',
		studioSection('the adapter’s PEFT zip (“Export zip”; a GGUF file cannot be imported)'),
		''
	].join('\n');
}

/** An Ollama model name: lowercase letters, digits, dashes. */
function slug(name: string): string {
	return (
		name
			.toLowerCase()
			.normalize('NFKD')
			.replace(/[^a-z0-9]+/g, '-')
			.replace(/^-+|-+$/g, '') || 'my-character'
	);
}

/** README.md of a dataset export (train.jsonl, eval.jsonl). */
export function datasetReadme(ds: Dataset, files: { train: string; eval?: string }): string {
	const r = ds.recipe;
	const recipeRows: [string, unknown][] = r
		? [
				[
					'window',
					r.window.kind === 'exchange'
						? 'one exchange (a user turn and the character’s answer)'
						: `${r.window.size} utterances`
				],
				['prompt variant', r.variant],
				['language', r.language],
				['ends with <end_of_turn>', r.endWithEndOfTurn],
				['shuffle seed', r.shuffleSeed],
				['eval fraction', r.evalFraction],
				['eval cap', r.evalCap],
				[
					'sources',
					r.sources.curatedSet ??
						r.sources.importedFile ??
						`${r.sources.dialogueIds?.length ?? 0} reviewed dialogues`
				]
			]
		: [['origin', ds.origin]];
	const s = ds.statistics;
	return [
		`# ${ds.name} — a chat dataset`,
		'',
		'Made in Mondō Studio to LoRA-train a character on Gemma-2. One JSON object per line, in the',
		'conversational format of Hugging Face TRL and `datasets`:',
		'',
		'```json',
		'{"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}',
		'```',
		'',
		'The model’s turns are the ones trained on; Gemma’s chat template renders `assistant` as `model`.',
		'',
		keyValueTable(
			['file', 'examples'],
			[
				[files.train, ds.train.length],
				...(files.eval ? [[files.eval, ds.eval.length] as [string, unknown]] : [])
			]
		),
		'',
		'## Load it in Python',
		'',
		'```python',
		'from datasets import load_dataset',
		'',
		`data = load_dataset("json", data_files={"train": "${files.train}"${files.eval ? `, "eval": "${files.eval}"` : ''}})`,
		'print(data["train"][0]["messages"])',
		'```',
		'',
		'TRL’s `SFTTrainer` takes it as it is (`train_dataset=data["train"]`).',
		'',
		'## How it was made',
		'',
		keyValueTable(['recipe', 'value'], recipeRows),
		...(s
			? [
					'',
					keyValueTable(
						['statistic', 'value'],
						[
							['examples', s.examples],
							['tokens (total)', s.totalTokens],
							[
								'tokens per example (mean / min / max)',
								`${s.averageTokens.toFixed(1)} / ${s.minTokens} / ${s.maxTokens}`
							],
							[
								'user / model tokens per example',
								`${s.averageUserTokens.toFixed(1)} / ${s.averageModelTokens.toFixed(1)}`
							],
							['tokenizer', s.tokenizer]
						]
					)
				]
			: []),
		'',
		'## Open it in Mondō Studio',
		'',
		`Data studio → Datasets → “Import” → choose \`${files.train}\`.`,
		''
	].join('\n');
}
