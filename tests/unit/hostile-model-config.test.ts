/**
 * Issue 12 · a model config is checked against sane bounds before anything is allocated; every
 * refusal names the file, the field as that format spells it, and the limit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
	MODEL_LIMITS,
	ModelFormatError,
	parseHfConfig,
	parseMlcConfig
} from '../../src/lib/model/config';
import { filesFromMap } from '../../src/lib/model/files';
import { loadHfWeights } from '../../src/lib/model/hf';
import { loadMlcWeights } from '../../src/lib/model/mlc';

const hf = JSON.parse(readFileSync('fixtures/tiny-hf/config.json', 'utf8'));
const mlc = JSON.parse(readFileSync('fixtures/tiny-mlc/mlc-chat-config.json', 'utf8'));

const hfWith = (over: Record<string, unknown>) => ({ ...hf, ...over });
const mlcWith = (over: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
	...mlc,
	...top,
	model_config: { ...mlc.model_config, ...over }
});

describe('the fixtures themselves are accepted', () => {
	it('tiny HF and MLC configs', () => {
		expect(parseHfConfig(hf).numLayers).toBe(3);
		expect(parseMlcConfig(mlc).numLayers).toBe(3);
	});
});

describe('HF config.json bounds', () => {
	it.each([
		['num_hidden_layers', 1e9, /num_hidden_layers.*1000000000 is over the limit of 1024/],
		['num_hidden_layers', 1e6, /over the limit of 1024/],
		['hidden_size', 1e7, /hidden_size.*over the limit of 65536/],
		['intermediate_size', 1e9, /intermediate_size.*over the limit/],
		['num_attention_heads', 4096, /num_attention_heads.*over the limit/],
		['head_dim', 1e5, /head_dim.*over the limit of 1024/],
		['vocab_size', 1e9, /vocab_size.*over the limit of 4194304/],
		['sliding_window', 1e9, /sliding_window.*over the limit/],
		['max_position_embeddings', 1e9, /max_position_embeddings.*outside 1 … 1048576/],
		['query_pre_attn_scalar', 1e12, /query_pre_attn_scalar.*over the limit/],
		['attn_logit_softcapping', 0, /attn_logit_softcapping.*must be > 0, got 0/],
		['final_logit_softcapping', -3, /final_logit_softcapping.*must be > 0/],
		['final_logit_softcapping', 1e300, /final_logit_softcapping.*over the limit/],
		['rms_norm_eps', -1e-6, /rms_norm_eps.*must be > 0/],
		['rms_norm_eps', 0, /rms_norm_eps.*must be > 0/],
		['rms_norm_eps', 5, /rms_norm_eps.*over the limit of 0\.1/],
		['rope_theta', -10000, /rope_theta.*must be > 0/],
		['rope_theta', 0, /rope_theta.*must be > 0/],
		['num_hidden_layers', 2.5, /num_hidden_layers.*positive integer/],
		['num_key_value_heads', 3, /num_key_value_heads.*does not divide num_attention_heads/],
		['bos_token_id', 10_000, /bos_token_id.*not a token id of the 512-token vocabulary/],
		['num_hidden_layers', '3', /num_hidden_layers.*expected a number/]
	])('%s = %s is refused', (field, value, why) => {
		const parse = () => parseHfConfig(hfWith({ [field]: value }));
		expect(parse).toThrow(ModelFormatError);
		expect(parse).toThrow(/^config\.json \(/);
		expect(parse).toThrow(why);
	});

	it('a null softcap means none', () => {
		expect(parseHfConfig(hfWith({ attn_logit_softcapping: null })).attnSoftcap).toBeNull();
	});

	it('num_hidden_layers 1e9 fails in the loader before any per-layer map or tensor', async () => {
		const files = filesFromMap(
			new Map([['config.json', JSON.stringify(hfWith({ num_hidden_layers: 1e9 }))]])
		);
		const t0 = performance.now();
		await expect(loadHfWeights(files)).rejects.toThrow(/num_hidden_layers/);
		// a hang detector, not a speed test: building 1e9 layers' maps took minutes and 4 GB
		expect(performance.now() - t0).toBeLessThan(5000);
	});
});

describe('MLC mlc-chat-config.json bounds', () => {
	it('context_window_size 1e9 is refused', () => {
		expect(() => parseMlcConfig(mlcWith({}, { context_window_size: 1e9 }))).toThrow(
			/mlc-chat-config\.json \(context_window_size\): 1000000000 is over the limit of 1048576/
		);
	});

	it.each([
		['num_hidden_layers', 1e9, /model_config\.num_hidden_layers.*over the limit/],
		['position_embedding_base', -1, /model_config\.position_embedding_base.*must be > 0/],
		['attn_logit_softcapping', 0, /model_config\.attn_logit_softcapping.*must be > 0/],
		['rms_norm_eps', -1, /model_config\.rms_norm_eps.*must be > 0/],
		['vocab_size', 1e9, /model_config\.vocab_size.*over the limit/]
	])('model_config.%s = %s is refused', (field, value, why) => {
		expect(() => parseMlcConfig(mlcWith({ [field]: value }))).toThrow(why);
	});

	it('num_hidden_layers 1e9 fails in the loader before the manifest is read', async () => {
		const files = filesFromMap(
			new Map([['mlc-chat-config.json', JSON.stringify(mlcWith({ num_hidden_layers: 1e9 }))]])
		);
		await expect(loadMlcWeights(files)).rejects.toThrow(/num_hidden_layers/);
	});

	it('the limits are the documented ones', () => {
		expect(MODEL_LIMITS.numLayers).toBe(1024);
	});
});
