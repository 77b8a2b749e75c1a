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

/** A file that breaks a rule: names the file and, where there is one, the field or tensor. */
export class FileFieldError extends Error {
	constructor(
		readonly file: string,
		readonly field: string | null,
		message: string
	) {
		super(`${file}${field ? ` (${field})` : ''}: ${message}`);
	}
}

/** Raised for a model file that is missing, malformed, or inconsistent; names the file and field. */
export class ModelFormatError extends FileFieldError {
	name = 'ModelFormatError';
}

/** A tensor's shape as a file's header gives it: a list of sizes, else a ModelFormatError. */
export function tensorShape(file: string, name: string, shape: unknown): number[] {
	if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0))
		throw new ModelFormatError(
			file,
			name,
			`shape ${JSON.stringify(shape)} is not a list of non-negative integers`
		);
	return shape;
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

/**
 * Sane bounds for every dimension, checked before anything is allocated (the loaders build
 * per-layer maps and buffers from these numbers). Gemma-2 27B is 46 layers × 4608 hidden, 256k
 * vocabulary, 8k context; the bounds leave room for any real Gemma-2 and refuse what is not.
 */
export const MODEL_LIMITS = {
	numLayers: 1024,
	hiddenSize: 65_536,
	intermediateSize: 1_048_576,
	numHeads: 1024,
	numKvHeads: 1024,
	headDim: 1024,
	vocabSize: 4_194_304,
	slidingWindow: 1_048_576,
	contextLength: 1_048_576,
	queryPreAttnScalar: 1_048_576,
	/** softcaps: > 0 (or absent = none) and at most this */
	softcap: 1e6,
	/** rms_norm_eps: > 0 and at most this (real models use 1e-5 … 1e-6) */
	rmsNormEps: 0.1,
	/** rope base (rope_theta / position_embedding_base): > 0 and at most this */
	ropeTheta: 1e12
} as const;

/** The field of each config value as the two formats name it, for errors. */
export type ConfigFieldNames = Partial<Record<keyof Gemma2Config, string>>;

const HF_FIELDS: ConfigFieldNames = {
	hiddenSize: 'hidden_size',
	intermediateSize: 'intermediate_size',
	numLayers: 'num_hidden_layers',
	numHeads: 'num_attention_heads',
	numKvHeads: 'num_key_value_heads',
	headDim: 'head_dim',
	vocabSize: 'vocab_size',
	rmsNormEps: 'rms_norm_eps',
	ropeTheta: 'rope_theta',
	slidingWindow: 'sliding_window',
	attnSoftcap: 'attn_logit_softcapping',
	finalSoftcap: 'final_logit_softcapping',
	queryPreAttnScalar: 'query_pre_attn_scalar',
	bosId: 'bos_token_id',
	eosIds: 'eos_token_id',
	padId: 'pad_token_id',
	contextLength: 'max_position_embeddings'
};

const MLC_FIELDS: ConfigFieldNames = {
	...Object.fromEntries(Object.entries(HF_FIELDS).map(([k, v]) => [k, `model_config.${v}`])),
	ropeTheta: 'model_config.position_embedding_base',
	bosId: 'bos_token_id',
	eosIds: 'eos_token_id',
	padId: 'pad_token_id',
	contextLength: 'context_window_size'
};

function validate(c: Gemma2Config, file: string, names: ConfigFieldNames): Gemma2Config {
	const field = (k: keyof Gemma2Config) => names[k] ?? k;
	const fail = (k: keyof Gemma2Config, msg: string): never => {
		throw new ModelFormatError(file, field(k), msg);
	};
	const sizes = [
		'numLayers',
		'hiddenSize',
		'intermediateSize',
		'numHeads',
		'numKvHeads',
		'headDim',
		'vocabSize',
		'slidingWindow',
		'contextLength',
		'queryPreAttnScalar'
	] as const;
	for (const k of sizes) {
		const v = c[k];
		if (!Number.isInteger(v) || v <= 0) fail(k, `must be a positive integer, got ${v}`);
		if (v > MODEL_LIMITS[k]) fail(k, `${v} is over the limit of ${MODEL_LIMITS[k]}`);
	}
	const inRange = (k: keyof Gemma2Config, v: number, max: number, what: string) => {
		if (!(v > 0)) fail(k, `must be > 0, got ${v}`);
		if (v > max) fail(k, `${v} is over the limit of ${max} for ${what}`);
	};
	inRange('rmsNormEps', c.rmsNormEps, MODEL_LIMITS.rmsNormEps, 'an epsilon');
	inRange('ropeTheta', c.ropeTheta, MODEL_LIMITS.ropeTheta, 'a rope base');
	for (const k of ['attnSoftcap', 'finalSoftcap'] as const) {
		const v = c[k];
		if (v !== null) inRange(k, v, MODEL_LIMITS.softcap, 'a softcap (absent or null means none)');
	}
	if (c.numHeads % c.numKvHeads !== 0)
		fail('numKvHeads', `${c.numKvHeads} does not divide ${field('numHeads')} ${c.numHeads}`);
	if (c.headDim % 2 !== 0) fail('headDim', 'must be even for RoPE');
	for (const k of ['bosId', 'padId'] as const)
		if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] >= c.vocabSize)
			fail(k, `${c[k]} is not a token id of the ${c.vocabSize}-token vocabulary`);
	for (const id of c.eosIds)
		if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
			fail('eosIds', `${id} is not a token id of the ${c.vocabSize}-token vocabulary`);
	return c;
}

/** The optional knobs both config files spell alike (but for the RoPE base's key), with defaults. */
function optionalKnobs(c: Json, file: string, ropeKey: string, headDim: number) {
	return {
		rmsNormEps: optNum(c, 'rms_norm_eps', file, 1e-6) as number,
		ropeTheta: optNum(c, ropeKey, file, 10000) as number,
		slidingWindow: optNum(c, 'sliding_window', file, 4096) as number,
		attnSoftcap: optNum(c, 'attn_logit_softcapping', file, null),
		finalSoftcap: optNum(c, 'final_logit_softcapping', file, null),
		queryPreAttnScalar: optNum(c, 'query_pre_attn_scalar', file, headDim) as number
	};
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
	const maxPositions = optNum(json, 'max_position_embeddings', file, 8192) as number;
	if (!(maxPositions > 0 && maxPositions <= MODEL_LIMITS.contextLength))
		throw new ModelFormatError(
			file,
			'max_position_embeddings',
			`${maxPositions} is outside 1 … ${MODEL_LIMITS.contextLength}`
		);
	return validate(
		{
			hiddenSize: hidden,
			intermediateSize: num(json, 'intermediate_size', file),
			numLayers: num(json, 'num_hidden_layers', file),
			numHeads,
			numKvHeads: num(json, 'num_key_value_heads', file),
			headDim,
			vocabSize: num(json, 'vocab_size', file),
			...optionalKnobs(json, file, 'rope_theta', headDim),
			bosId: optNum(json, 'bos_token_id', file, 2) as number,
			eosIds: eos.length ? [...new Set([...eos, 107])] : [1, 107],
			padId: optNum(json, 'pad_token_id', file, 0) as number,
			contextLength: Math.min(maxPositions, 4096)
		},
		file,
		HF_FIELDS
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
			...optionalKnobs(mc, file, 'position_embedding_base', headDim),
			bosId: optNum(json, 'bos_token_id', file, 2) as number,
			eosIds: eos.length ? [...new Set(eos)] : [1, 107],
			padId: optNum(json, 'pad_token_id', file, 0) as number,
			contextLength: (optNum(json, 'context_window_size', file, null) ??
				optNum(mc, 'context_window_size', file, 4096)) as number
		},
		file,
		MLC_FIELDS
	);
}

/** True for layers that use the sliding window (0, 2, 4, …), as in HF's Gemma2 (`not bool(layer_idx % 2)`). */
export function isSlidingLayer(layer: number): boolean {
	return layer % 2 === 0;
}
