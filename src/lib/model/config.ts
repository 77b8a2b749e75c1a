/**
 * The Gemma-2 configuration the engine and the reference run on, read from a model's own files
 * (Hugging Face `config.json` or MLC `mlc-chat-config.json`) — never hard-coded.
 * See docs/specs/gemma2.md (the table of knobs) and weights-mlc.md (MLC key names).
 */

export interface Gemma2Config {
	hiddenSize: number;
	intermediateSize: number;
	numLayers: number;
	numHeads: number;
	numKvHeads: number;
	headDim: number;
	vocabSize: number;
	rmsNormEps: number;
	ropeTheta: number;
	/** Keys visible to a query on sliding layers (even layers), the query itself included. */
	slidingWindow: number;
	/** null = no softcap. */
	attnSoftcap: number | null;
	finalSoftcap: number | null;
	/** scaling = queryPreAttnScalar^-0.5 */
	queryPreAttnScalar: number;
	bosId: number;
	eosIds: number[];
	padId: number;
	/** Context limit the studio uses by default (MLC: context_window_size). */
	contextLength: number;
}

/** Raised for a model file that is missing, malformed, or inconsistent; names the file and field. */
export class ModelFormatError extends Error {
	constructor(
		readonly file: string,
		readonly field: string | null,
		message: string
	) {
		super(`${file}${field ? ` (${field})` : ''}: ${message}`);
		this.name = 'ModelFormatError';
	}
}

type Json = Record<string, unknown>;

function num(obj: Json, key: string, file: string, path = key): number {
	const v = obj[key];
	if (v === undefined || v === null)
		throw new ModelFormatError(file, path, 'required key is missing');
	if (typeof v !== 'number' || !Number.isFinite(v))
		throw new ModelFormatError(file, path, `expected a number, got ${JSON.stringify(v)}`);
	return v;
}

function optNum(obj: Json, key: string, file: string, fallback: number | null): number | null {
	const v = obj[key];
	if (v === undefined || v === null) return fallback;
	if (typeof v !== 'number' || !Number.isFinite(v))
		throw new ModelFormatError(file, key, `expected a number, got ${JSON.stringify(v)}`);
	return v;
}

function ids(v: unknown): number[] {
	if (typeof v === 'number') return [v];
	if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
	return [];
}

function validate(c: Gemma2Config, file: string): Gemma2Config {
	const positive: (keyof Gemma2Config)[] = [
		'hiddenSize',
		'intermediateSize',
		'numLayers',
		'numHeads',
		'numKvHeads',
		'headDim',
		'vocabSize',
		'slidingWindow',
		'queryPreAttnScalar'
	];
	for (const k of positive) {
		const v = c[k] as number;
		if (!Number.isInteger(v) || v <= 0)
			throw new ModelFormatError(file, k, `must be a positive integer, got ${v}`);
	}
	if (c.numHeads % c.numKvHeads !== 0)
		throw new ModelFormatError(
			file,
			'num_key_value_heads',
			`${c.numKvHeads} does not divide num_attention_heads ${c.numHeads}`
		);
	if (c.headDim % 2 !== 0) throw new ModelFormatError(file, 'head_dim', 'must be even for RoPE');
	return c;
}

/** Hugging Face `config.json` of a Gemma2ForCausalLM. */
export function parseHfConfig(json: Json, file = 'config.json'): Gemma2Config {
	const mt = json.model_type;
	if (mt !== undefined && mt !== 'gemma2')
		throw new ModelFormatError(file, 'model_type', `expected "gemma2", got ${JSON.stringify(mt)}`);
	if (json.tie_word_embeddings === false)
		throw new ModelFormatError(file, 'tie_word_embeddings', 'untied LM heads are not supported');
	const act = json.hidden_activation ?? json.hidden_act;
	if (act !== undefined && act !== 'gelu_pytorch_tanh')
		throw new ModelFormatError(file, 'hidden_activation', `unsupported ${JSON.stringify(act)}`);
	const numHeads = num(json, 'num_attention_heads', file);
	const hidden = num(json, 'hidden_size', file);
	const headDim = optNum(json, 'head_dim', file, hidden / numHeads) as number;
	const eos = ids(json.eos_token_id);
	return validate(
		{
			hiddenSize: hidden,
			intermediateSize: num(json, 'intermediate_size', file),
			numLayers: num(json, 'num_hidden_layers', file),
			numHeads,
			numKvHeads: num(json, 'num_key_value_heads', file),
			headDim,
			vocabSize: num(json, 'vocab_size', file),
			rmsNormEps: optNum(json, 'rms_norm_eps', file, 1e-6) as number,
			ropeTheta: optNum(json, 'rope_theta', file, 10000) as number,
			slidingWindow: optNum(json, 'sliding_window', file, 4096) as number,
			attnSoftcap: optNum(json, 'attn_logit_softcapping', file, null),
			finalSoftcap: optNum(json, 'final_logit_softcapping', file, null),
			queryPreAttnScalar: optNum(json, 'query_pre_attn_scalar', file, headDim) as number,
			bosId: optNum(json, 'bos_token_id', file, 2) as number,
			eosIds: eos.length ? [...new Set([...eos, 107])] : [1, 107],
			padId: optNum(json, 'pad_token_id', file, 0) as number,
			contextLength: Math.min(optNum(json, 'max_position_embeddings', file, 8192) as number, 4096)
		},
		file
	);
}

/** MLC `mlc-chat-config.json` (the model maths live under `model_config`). */
export function parseMlcConfig(json: Json, file = 'mlc-chat-config.json'): Gemma2Config {
	const mt = json.model_type;
	if (mt !== undefined && mt !== 'gemma2')
		throw new ModelFormatError(file, 'model_type', `expected "gemma2", got ${JSON.stringify(mt)}`);
	const mc = json.model_config as Json | undefined;
	if (!mc || typeof mc !== 'object')
		throw new ModelFormatError(file, 'model_config', 'required key is missing');
	const f = (k: string) => num(mc, k, file, `model_config.${k}`);
	const numHeads = f('num_attention_heads');
	const hidden = f('hidden_size');
	const headDim = (optNum(mc, 'head_dim', file, null) ?? hidden / numHeads) as number;
	const stop = (json.conv_template as Json | undefined)?.stop_token_ids;
	const eos = [...ids(json.eos_token_id), ...ids(stop)];
	return validate(
		{
			hiddenSize: hidden,
			intermediateSize: f('intermediate_size'),
			numLayers: f('num_hidden_layers'),
			numHeads,
			numKvHeads: f('num_key_value_heads'),
			headDim,
			vocabSize: f('vocab_size'),
			rmsNormEps: optNum(mc, 'rms_norm_eps', file, 1e-6) as number,
			ropeTheta: optNum(mc, 'position_embedding_base', file, 10000) as number,
			slidingWindow: optNum(mc, 'sliding_window', file, 4096) as number,
			attnSoftcap: optNum(mc, 'attn_logit_softcapping', file, null),
			finalSoftcap: optNum(mc, 'final_logit_softcapping', file, null),
			queryPreAttnScalar: optNum(mc, 'query_pre_attn_scalar', file, headDim) as number,
			bosId: optNum(json, 'bos_token_id', file, 2) as number,
			eosIds: eos.length ? [...new Set(eos)] : [1, 107],
			padId: optNum(json, 'pad_token_id', file, 0) as number,
			contextLength: (optNum(json, 'context_window_size', file, null) ??
				optNum(mc, 'context_window_size', file, 4096)) as number
		},
		file
	);
}

/** True for layers that use the sliding window (0, 2, 4, …), as in HF's Gemma2 (`not bool(layer_idx % 2)`). */
export function isSlidingLayer(layer: number): boolean {
	return layer % 2 === 0;
}
