/**
 * Tiny Gemma-2 model folders for tests, benchmarks and the e2e app, written deterministically from
 * a seed (TINY_CONFIG + randomWeights), in every layout the studio loads:
 *
 *   fixtures/tiny-hf/            HF: config.json + model.safetensors (F32), tokenizer files
 *   fixtures/tiny-hf-sharded/    HF: 2 shards (F32 + BF16) + model.safetensors.index.json
 *   fixtures/tiny-mlc/           MLC q4f16_1: mlc-chat-config.json + tensor-cache.json + params_shard_*.bin
 *   fixtures/tiny-mlc-q4f32/     MLC q4f32_1 with the older ndarray-cache.json name
 *   fixtures/hub/test-org/tiny-gemma2-mlc/resolve/main/   tiny-mlc in the hub's resolve layout
 *
 * Usage: npx tsx scripts/make-tiny-model.ts [--out DIR] [--seed N]
 * The builders (`hfModelFiles`, `mlcModelFiles`, `tinyTokenizerFiles`) return the files in memory,
 * so tests can use them without the disk (filesFromMap); `writeHfModel`/`writeMlcModel` write them.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Gemma2Config } from '../src/lib/model/config';
import { hfTensorShapes, HF_NORMS, projectionModule } from '../src/lib/model/hf';
import { md5Hex } from '../src/lib/model/md5';
import {
	f32ToBf16,
	writeSafetensors,
	type SafetensorsTensorToWrite
} from '../src/lib/model/safetensors';
import {
	f32ToF16,
	PROJECTIONS,
	quantizeQ4,
	type Gemma2Weights,
	type Linear,
	type Q4Linear
} from '../src/lib/model/weights';
import { randomWeights, TINY_CONFIG } from '../src/lib/reference/random-model';

export type FolderFiles = Map<string, Uint8Array | string>;

export const DEFAULT_SEED = 1;

// ---------------------------------------------------------------- tokenizer

/** Gemma-2's chat template, as published in google/gemma-2-2b-jpn-it's tokenizer_config.json. */
export const GEMMA_CHAT_TEMPLATE =
	"{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

/** Pieces built by merging two existing pieces, in merge-priority order. */
const TINY_MERGES: [string, string][] = [
	['こ', 'ん'],
	['こん', 'に'],
	['こんに', 'ち'],
	['こんにち', 'は'],
	['で', 'す'],
	['日', '本'],
	['日本', '語'],
	['▁', 't'],
	['h', 'e'],
	['i', 'n'],
	['e', 'r'],
	['a', 'n'],
	['o', 'u'],
	['o', 'n'],
	['r', 'e'],
	['▁t', 'he'],
	['▁', 'a'],
	['▁', 's'],
	['▁', 'w'],
	['▁', 'o'],
	['▁', 'i'],
	['▁', 'm'],
	['▁', 'c'],
	['▁', 'y'],
	['▁y', 'ou'],
	['in', 'g'],
	['n', 'd'],
	['i', 's'],
	['a', 't'],
	['e', 'n'],
	['e', 's'],
	['o', 'r'],
	['l', 'l'],
	['▁', 'h'],
	['▁', 'b'],
	['▁', 'f'],
	['▁', 'p'],
	['▁', 'd'],
	['▁', 'I'],
	['▁t', 'o'],
	['▁a', 'nd'],
	['▁o', 'f'],
	['▁i', 's'],
	['▁i', 'n'],
	['▁w', 'he'],
	['▁', 'T'],
	['▁', 'W'],
	['▁', 'S'],
	['▁', 'H'],
	['▁h', 'e'],
	['▁', 'l'],
	['▁', 'n'],
	['▁', 'g'],
	['▁', 'e'],
	['▁', 'r'],
	['o', 'w'],
	['▁', 'k'],
	['n', 'o'],
	['l', 'e'],
	['▁h', 'ow'],
	['▁w', 'h'],
	['▁wh', 'at'],
	['▁', 'v'],
	['i', 'r'],
	['u', 'e'],
	['t', 'h'],
	['▁', 'u'],
	['a', 'r'],
	['a', 'l'],
	['▁S', 'o'],
	['▁So', 'c'],
	['▁Soc', 'r'],
	['▁Socr', 'at'],
	['▁Socrat', 'es'],
	['▁t', 'h'],
	['▁', 'j'],
	['▁', 'q'],
	['▁', 'x'],
	['▁', 'z'],
	['▁t', 'r'],
	['▁', 'Y']
];

/**
 * A Gemma-like BPE tokenizer (sentencepiece style: '▁' for spaces, byte fallback) with exactly
 * `vocabSize` entries and Gemma's special ids: 0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>, 4 <mask>,
 * 5–105 <unusedN>, 106 <start_of_turn>, 107 <end_of_turn>, 108–363 <0x00>…<0xFF>, then single
 * characters (English, punctuation, a few Japanese) and merged pieces. Any text round-trips.
 */
export function tinyTokenizerJson(vocabSize = TINY_CONFIG.vocabSize): Record<string, unknown> {
	const vocab: string[] = ['<pad>', '<eos>', '<bos>', '<unk>', '<mask>'];
	for (let i = 0; vocab.length < 106; i++) vocab.push(`<unused${i}>`);
	vocab.push('<start_of_turn>', '<end_of_turn>');
	for (let b = 0; b < 256; b++) vocab.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
	const characters = [
		'▁',
		'\n',
		...'abcdefghijklmnopqrstuvwxyz',
		...'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
		...'0123456789',
		...'.,!?\'":;-()',
		...'こんにちは。私日本語のをですか、'
	];
	const have = new Set(vocab);
	const add = (piece: string) => {
		if (!have.has(piece) && vocab.length < vocabSize) {
			vocab.push(piece);
			have.add(piece);
		}
	};
	characters.forEach(add);
	const merges: [string, string][] = [];
	for (const [a, b] of TINY_MERGES) {
		if (vocab.length >= vocabSize) break;
		if (!have.has(a) || !have.has(b) || have.has(a + b)) continue;
		merges.push([a, b]);
		add(a + b);
	}
	if (vocab.length !== vocabSize)
		throw new Error(
			`tiny tokenizer has ${vocab.length} entries, expected ${vocabSize}: add merges to TINY_MERGES`
		);
	const special = (id: number) => ({
		id,
		content: vocab[id],
		single_word: false,
		lstrip: false,
		rstrip: false,
		normalized: false,
		special: true
	});
	const addedIds = [...Array(108).keys()];
	return {
		version: '1.0',
		truncation: null,
		padding: null,
		added_tokens: addedIds.map(special),
		normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
		pre_tokenizer: null,
		post_processor: {
			type: 'TemplateProcessing',
			single: [
				{ SpecialToken: { id: '<bos>', type_id: 0 } },
				{ Sequence: { id: 'A', type_id: 0 } }
			],
			pair: [
				{ SpecialToken: { id: '<bos>', type_id: 0 } },
				{ Sequence: { id: 'A', type_id: 0 } },
				{ SpecialToken: { id: '<bos>', type_id: 1 } },
				{ Sequence: { id: 'B', type_id: 1 } }
			],
			special_tokens: { '<bos>': { id: '<bos>', ids: [2], tokens: ['<bos>'] } }
		},
		decoder: {
			type: 'Sequence',
			decoders: [
				{ type: 'Replace', pattern: { String: '▁' }, content: ' ' },
				{ type: 'ByteFallback' },
				{ type: 'Fuse' }
			]
		},
		model: {
			type: 'BPE',
			dropout: null,
			unk_token: '<unk>',
			continuing_subword_prefix: null,
			end_of_word_suffix: null,
			fuse_unk: true,
			byte_fallback: true,
			ignore_merges: false,
			vocab: Object.fromEntries(vocab.map((piece, id) => [piece, id])),
			merges
		}
	};
}

export function tinyTokenizerFiles(vocabSize = TINY_CONFIG.vocabSize): FolderFiles {
	const tokenizerConfig = {
		add_bos_token: true,
		add_eos_token: false,
		bos_token: '<bos>',
		eos_token: '<eos>',
		pad_token: '<pad>',
		unk_token: '<unk>',
		additional_special_tokens: ['<start_of_turn>', '<end_of_turn>'],
		chat_template: GEMMA_CHAT_TEMPLATE,
		clean_up_tokenization_spaces: false,
		model_max_length: 1000000000000000019884624838656,
		padding_side: 'left',
		sp_model_kwargs: {},
		spaces_between_special_tokens: false,
		tokenizer_class: 'GemmaTokenizer',
		use_default_system_prompt: false
	};
	const specialTokensMap = {
		additional_special_tokens: ['<start_of_turn>', '<end_of_turn>'],
		bos_token: {
			content: '<bos>',
			lstrip: false,
			normalized: false,
			rstrip: false,
			single_word: false
		},
		eos_token: {
			content: '<eos>',
			lstrip: false,
			normalized: false,
			rstrip: false,
			single_word: false
		},
		pad_token: {
			content: '<pad>',
			lstrip: false,
			normalized: false,
			rstrip: false,
			single_word: false
		},
		unk_token: {
			content: '<unk>',
			lstrip: false,
			normalized: false,
			rstrip: false,
			single_word: false
		}
	};
	return new Map<string, string>([
		['tokenizer.json', JSON.stringify(tinyTokenizerJson(vocabSize), null, 2)],
		['tokenizer_config.json', JSON.stringify(tokenizerConfig, null, 2)],
		['special_tokens_map.json', JSON.stringify(specialTokensMap, null, 2)]
	]);
}

// ---------------------------------------------------------------- Hugging Face layout

/**
 * Fields of transformers' `Gemma2Config` typed `float`. transformers ≥ 5 validates the config
 * strictly (`huggingface_hub` `@strict`) and refuses an int there (`"final_logit_softcapping": 3`),
 * so they are written as Python writes floats (`3.0`). `query_pre_attn_scalar` is typed `int` and
 * stays one.
 */
export const HF_FLOAT_FIELDS = [
	'attention_dropout',
	'attn_logit_softcapping',
	'final_logit_softcapping',
	'initializer_range',
	'rms_norm_eps',
	'rope_theta'
] as const;

/** JSON text (2-space indent) with the top-level `floatFields` that hold integers written as `N.0`. */
export function jsonWithFloats(
	value: Record<string, unknown>,
	floatFields: readonly string[]
): string {
	const text = JSON.stringify(value, null, 2);
	const keys = floatFields.map((k) => k.replace(/[^\w]/g, '')).join('|');
	return text.replace(new RegExp(`^(  "(?:${keys})": )(-?\\d+)(,?)$`, 'gm'), '$1$2.0$3');
}

/** config.json of a Hugging Face Gemma-2 checkpoint, as transformers ≥ 5 loads it. */
export function hfConfigText(c: Gemma2Config): string {
	return jsonWithFloats(hfConfigJson(c), HF_FLOAT_FIELDS);
}

export function hfConfigJson(c: Gemma2Config): Record<string, unknown> {
	return {
		architectures: ['Gemma2ForCausalLM'],
		model_type: 'gemma2',
		attention_bias: false,
		attention_dropout: 0.0,
		attn_logit_softcapping: c.attnSoftcap,
		bos_token_id: c.bosId,
		cache_implementation: 'hybrid',
		eos_token_id: c.eosIds,
		final_logit_softcapping: c.finalSoftcap,
		head_dim: c.headDim,
		hidden_act: 'gelu_pytorch_tanh',
		hidden_activation: 'gelu_pytorch_tanh',
		hidden_size: c.hiddenSize,
		initializer_range: 0.02,
		intermediate_size: c.intermediateSize,
		max_position_embeddings: c.contextLength,
		num_attention_heads: c.numHeads,
		num_hidden_layers: c.numLayers,
		num_key_value_heads: c.numKvHeads,
		pad_token_id: c.padId,
		query_pre_attn_scalar: c.queryPreAttnScalar,
		rms_norm_eps: c.rmsNormEps,
		rope_theta: c.ropeTheta,
		sliding_window: c.slidingWindow,
		tie_word_embeddings: true,
		torch_dtype: 'float32',
		transformers_version: '4.46.0',
		use_cache: true,
		vocab_size: c.vocabSize
	};
}

function f32Of(l: Linear, name: string): Float32Array {
	if (l.kind !== 'f32') throw new Error(`hfModelFiles: ${name} must be f32 weights`);
	return l.data;
}

/** HF tensors of f32 weights; norms are written as HF stores them, multiplier − 1. */
export function hfTensors(w: Gemma2Weights): Map<string, Float32Array> {
	const tensors = new Map<string, Float32Array>();
	const hfNorm = (multiplier: Float32Array) => Float32Array.from(multiplier, (v) => v - 1);
	tensors.set('model.embed_tokens.weight', f32Of(w.embed, 'embed'));
	w.layers.forEach((layer, i) => {
		for (const [key, norm] of Object.entries(HF_NORMS))
			tensors.set(`model.layers.${i}.${norm}.weight`, hfNorm(layer[key as keyof typeof HF_NORMS]));
		for (const p of PROJECTIONS)
			tensors.set(`model.layers.${i}.${projectionModule(p)}.${p}.weight`, f32Of(layer.proj[p], p));
	});
	tensors.set('model.norm.weight', hfNorm(w.finalNorm));
	return tensors;
}

export interface HfWriteOptions {
	/** One dtype per shard; one entry = model.safetensors, more = sharded with an index. */
	shardDtypes?: ('F32' | 'F16' | 'BF16')[];
	withTokenizer?: boolean;
}

/** A Hugging Face model folder, in memory. */
export function hfModelFiles(w: Gemma2Weights, options: HfWriteOptions = {}): FolderFiles {
	const shardDtypes = options.shardDtypes ?? ['F32'];
	const files: FolderFiles = new Map();
	files.set('config.json', hfConfigText(w.config));
	const shapes = hfTensorShapes(w.config);
	const tensors = [...hfTensors(w)];
	const perShard = Math.ceil(tensors.length / shardDtypes.length);
	const weightMap: Record<string, string> = {};
	let totalSize = 0;
	shardDtypes.forEach((dtype, s) => {
		const name =
			shardDtypes.length === 1
				? 'model.safetensors'
				: `model-${String(s + 1).padStart(5, '0')}-of-${String(shardDtypes.length).padStart(5, '0')}.safetensors`;
		const part: SafetensorsTensorToWrite[] = tensors
			.slice(s * perShard, (s + 1) * perShard)
			.map(([tensor, data]) => ({ name: tensor, dtype, shape: shapes.get(tensor)!, data }));
		for (const t of part) {
			weightMap[t.name] = name;
			totalSize += t.data.length * (dtype === 'F32' ? 4 : 2);
		}
		files.set(name, writeSafetensors(part));
	});
	if (shardDtypes.length > 1)
		files.set(
			'model.safetensors.index.json',
			JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)
		);
	if (options.withTokenizer ?? true)
		for (const [k, v] of tinyTokenizerFiles(w.config.vocabSize)) files.set(k, v);
	return files;
}

// ---------------------------------------------------------------- MLC layout

export type MlcQuantization = 'q4f16_1' | 'q4f32_1';

export function mlcChatConfigJson(
	c: Gemma2Config,
	quantization: MlcQuantization
): Record<string, unknown> {
	return {
		version: '0.1.0',
		model_type: 'gemma2',
		quantization,
		model_config: {
			hidden_size: c.hiddenSize,
			intermediate_size: c.intermediateSize,
			attention_bias: false,
			num_attention_heads: c.numHeads,
			num_key_value_heads: c.numKvHeads,
			head_dim: c.headDim,
			num_hidden_layers: c.numLayers,
			rms_norm_eps: c.rmsNormEps,
			vocab_size: c.vocabSize,
			hidden_activation: 'gelu_pytorch_tanh',
			position_embedding_base: c.ropeTheta,
			context_window_size: c.contextLength,
			prefill_chunk_size: c.contextLength,
			tensor_parallel_shards: 1,
			max_batch_size: 128,
			attn_logit_softcapping: c.attnSoftcap,
			final_logit_softcapping: c.finalSoftcap,
			query_pre_attn_scalar: c.queryPreAttnScalar,
			sliding_window: c.slidingWindow
		},
		vocab_size: c.vocabSize,
		context_window_size: c.contextLength,
		sliding_window_size: -1,
		prefill_chunk_size: c.contextLength,
		attention_sink_size: -1,
		tensor_parallel_shards: 1,
		temperature: 1.0,
		presence_penalty: 0.0,
		frequency_penalty: 0.0,
		repetition_penalty: 1.0,
		top_p: 1.0,
		tokenizer_files: ['tokenizer.json', 'tokenizer_config.json'],
		conv_template: {
			name: 'gemma_instruction',
			system_template: '{system_message}',
			system_message: '',
			roles: { user: '<start_of_turn>user', assistant: '<start_of_turn>model' },
			seps: ['<end_of_turn>\n'],
			role_content_sep: '\n',
			role_empty_sep: '\n',
			stop_str: ['<end_of_turn>'],
			stop_token_ids: [1, 107],
			system_prefix_token_ids: [c.bosId]
		},
		pad_token_id: c.padId,
		bos_token_id: c.bosId,
		eos_token_id: c.eosIds[0]
	};
}

interface MlcTensor {
	name: string;
	dtype: 'uint32' | 'int32' | 'float16' | 'float32';
	shape: number[];
	bytes: Uint8Array;
}

function concatQ4(parts: Q4Linear[]): Q4Linear {
	const rows = parts.reduce((a, p) => a + p.rows, 0);
	const cols = parts[0].cols;
	const qweight = new Uint32Array((rows * cols) / 8);
	let at = 0;
	for (const p of parts) {
		qweight.set(p.qweight, at);
		at += p.qweight.length;
	}
	const groups = (rows * cols) / 32;
	at = 0;
	if (parts[0].scales.dtype === 'f16') {
		const bits = new Uint16Array(groups);
		for (const p of parts) {
			const b = (p.scales as { bits: Uint16Array }).bits;
			bits.set(b, at);
			at += b.length;
		}
		return { kind: 'q4', rows, cols, qweight, scales: { dtype: 'f16', bits } };
	}
	const data = new Float32Array(groups);
	for (const p of parts) {
		const d = (p.scales as { data: Float32Array }).data;
		data.set(d, at);
		at += d.length;
	}
	return { kind: 'q4', rows, cols, qweight, scales: { dtype: 'f32', data } };
}

function asQ4(l: Linear, quantization: MlcQuantization): Q4Linear {
	const scaleDtype = quantization === 'q4f16_1' ? 'f16' : 'f32';
	if (l.kind === 'f32') return quantizeQ4(l.data, l.rows, l.cols, scaleDtype);
	if (l.scales.dtype !== scaleDtype)
		throw new Error(`mlcModelFiles: ${quantization} needs ${scaleDtype} scales`);
	return l;
}

const bytesOf = (a: ArrayBufferView) =>
	new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/**
 * The MLC tensors of a model: quantized weights (q_weight/q_scale, fused qkv_proj and gate_up_proj)
 * and norm multipliers. q4f32_1 float32 records are stored as bf16 bits (format f32-to-bf16).
 */
export function mlcTensors(
	w: Gemma2Weights,
	quantization: MlcQuantization,
	uintName: 'uint32' | 'int32' = 'uint32'
): MlcTensor[] {
	const f16 = quantization === 'q4f16_1';
	const floats = (v: Float32Array): Pick<MlcTensor, 'dtype' | 'bytes'> =>
		f16
			? { dtype: 'float16', bytes: bytesOf(Uint16Array.from(v, (x) => f32ToF16(x))) }
			: { dtype: 'float32', bytes: bytesOf(Uint16Array.from(v, (x) => f32ToBf16(x))) };
	const out: MlcTensor[] = [];
	const linear = (name: string, l: Q4Linear) => {
		out.push({
			name: `${name}.q_weight`,
			dtype: uintName,
			shape: [l.rows, l.cols / 8],
			bytes: bytesOf(l.qweight)
		});
		const scales =
			l.scales.dtype === 'f16'
				? { dtype: 'float16' as const, bytes: bytesOf(l.scales.bits) }
				: floats(l.scales.data);
		out.push({ name: `${name}.q_scale`, shape: [l.rows, l.cols / 32], ...scales });
	};
	const norm = (name: string, v: Float32Array) =>
		out.push({ name, shape: [v.length], ...floats(v) });
	linear('model.embed_tokens', asQ4(w.embed, quantization));
	w.layers.forEach((layer, i) => {
		const L = `model.layers.${i}`;
		const q = (p: keyof typeof layer.proj) => asQ4(layer.proj[p], quantization);
		norm(`${L}.input_layernorm.weight`, layer.inputNorm);
		linear(`${L}.self_attn.qkv_proj`, concatQ4([q('q_proj'), q('k_proj'), q('v_proj')]));
		linear(`${L}.self_attn.o_proj`, q('o_proj'));
		norm(`${L}.post_attention_layernorm.weight`, layer.postAttnNorm);
		norm(`${L}.pre_feedforward_layernorm.weight`, layer.preFfnNorm);
		linear(`${L}.mlp.gate_up_proj`, concatQ4([q('gate_proj'), q('up_proj')]));
		linear(`${L}.mlp.down_proj`, q('down_proj'));
		norm(`${L}.post_feedforward_layernorm.weight`, layer.postFfnNorm);
	});
	norm('model.norm.weight', w.finalNorm);
	return out;
}

export interface MlcWriteOptions {
	/** 'tensor-cache.json' (newer, default) or 'ndarray-cache.json' (older). */
	manifestName?: 'tensor-cache.json' | 'ndarray-cache.json';
	/** Shard size limit; a tensor at least this big sits alone in its shard (MLC uses 32 MiB). */
	shardBytes?: number;
	/** Write uint32 weights as dtype "int32" (older conversions). */
	uintName?: 'uint32' | 'int32';
	withTokenizer?: boolean;
}

/** An MLC model folder, in memory. Manifest records are listed in an order other than their byte order. */
export function mlcModelFiles(
	w: Gemma2Weights,
	quantization: MlcQuantization,
	options: MlcWriteOptions = {}
): FolderFiles {
	const shardLimit = options.shardBytes ?? 16 * 1024;
	const tensors = mlcTensors(w, quantization, options.uintName);
	const shards: MlcTensor[][] = [];
	let current: MlcTensor[] = [];
	let currentBytes = 0;
	for (const t of tensors) {
		if (t.bytes.byteLength >= shardLimit) {
			shards.push([t]);
			continue;
		}
		if (currentBytes + t.bytes.byteLength > shardLimit) {
			shards.push(current);
			current = [];
			currentBytes = 0;
		}
		current.push(t);
		currentBytes += t.bytes.byteLength;
	}
	if (current.length) shards.push(current);

	const files: FolderFiles = new Map();
	files.set(
		'mlc-chat-config.json',
		JSON.stringify(mlcChatConfigJson(w.config, quantization), null, 2)
	);
	let paramSize = 0;
	let paramBytes = 0;
	const manifestShards = shards.map((shard, s) => {
		const dataPath = `params_shard_${s}.bin`;
		const nbytes = shard.reduce((a, t) => a + t.bytes.byteLength, 0);
		const data = new Uint8Array(nbytes);
		let byteOffset = 0;
		const records = shard.map((t) => {
			data.set(t.bytes, byteOffset);
			byteOffset += t.bytes.byteLength;
			paramBytes += t.bytes.byteLength;
			paramSize += t.shape.reduce((a, b) => a * b, 1) * (t.name.endsWith('q_weight') ? 8 : 1);
			const record = { name: t.name, shape: t.shape, dtype: t.dtype, format: 'f32-to-bf16' };
			return { ...record, nbytes: t.bytes.byteLength, byteOffset: byteOffset - t.bytes.byteLength };
		});
		files.set(dataPath, data);
		// Listed last-to-first: loaders must index records by name and use byteOffset.
		return {
			dataPath,
			format: 'raw-shard',
			nbytes,
			records: records.reverse(),
			md5sum: md5Hex(data)
		};
	});
	const manifest = {
		metadata: {
			ParamSize: paramSize,
			ParamBytes: paramBytes,
			BitsPerParam: (paramBytes * 8) / paramSize
		},
		records: manifestShards
	};
	files.set(options.manifestName ?? 'tensor-cache.json', JSON.stringify(manifest, null, 2));
	if (options.withTokenizer ?? true)
		for (const [k, v] of tinyTokenizerFiles(w.config.vocabSize)) files.set(k, v);
	return files;
}

// ---------------------------------------------------------------- writing

export function writeFolder(dir: string, files: FolderFiles): void {
	rmSync(dir, { recursive: true, force: true });
	for (const [path, content] of files) {
		const target = join(dir, path);
		mkdirSync(dirname(target), { recursive: true });
		writeFileSync(target, content);
	}
}

export function writeHfModel(dir: string, w: Gemma2Weights, options: HfWriteOptions = {}): void {
	writeFolder(dir, hfModelFiles(w, options));
}

export function writeMlcModel(
	dir: string,
	w: Gemma2Weights,
	quantization: MlcQuantization,
	options: MlcWriteOptions = {}
): void {
	writeFolder(dir, mlcModelFiles(w, quantization, options));
}

/** Every fixture folder, in memory, keyed by its path under the output folder. */
export function tinyFixtures(seed = DEFAULT_SEED): Map<string, FolderFiles> {
	const f32 = randomWeights(TINY_CONFIG, seed, 'f32');
	return new Map([
		['tiny-hf', hfModelFiles(f32)],
		['tiny-hf-sharded', hfModelFiles(f32, { shardDtypes: ['F32', 'BF16'] })],
		['tiny-mlc', mlcModelFiles(randomWeights(TINY_CONFIG, seed, 'q4f16'), 'q4f16_1')],
		[
			'tiny-mlc-q4f32',
			mlcModelFiles(randomWeights(TINY_CONFIG, seed, 'q4f32'), 'q4f32_1', {
				manifestName: 'ndarray-cache.json',
				uintName: 'int32'
			})
		]
	]);
}

export const HUB_FIXTURE_REPO = 'test-org/tiny-gemma2-mlc';

function main(argv: string[]) {
	let out = 'fixtures';
	let seed = DEFAULT_SEED;
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === '--out') out = argv[++i];
		else if (argv[i] === '--seed') seed = Number(argv[++i]);
		else
			throw new Error(
				`make-tiny-model: unknown argument ${argv[i]} (usage: [--out DIR] [--seed N])`
			);
	}
	const started = Date.now();
	const fixtures = tinyFixtures(seed);
	let bytes = 0;
	for (const [name, files] of fixtures) {
		writeFolder(resolve(out, name), files);
		for (const v of files.values())
			bytes += typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
	}
	const mlc = fixtures.get('tiny-mlc')!;
	writeFolder(resolve(out, 'hub', HUB_FIXTURE_REPO, 'resolve', 'main'), mlc);
	for (const v of mlc.values())
		bytes += typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength;
	console.log(
		`make-tiny-model: wrote ${[...fixtures.keys(), `hub/${HUB_FIXTURE_REPO}`].join(', ')} under ${resolve(out)} ` +
			`(${(bytes / 1e6).toFixed(2)} MB, seed ${seed}, ${Date.now() - started} ms)`
	);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
	main(process.argv.slice(2));
