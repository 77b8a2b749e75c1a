/**
 * The tiny fixtures' config.json must load in Hugging Face transformers ≥ 5, whose Gemma2Config is
 * validated strictly: a field typed `float` refuses a JSON integer (`"final_logit_softcapping": 3`),
 * and `query_pre_attn_scalar` is typed `int`. JSON.parse cannot tell 3 from 3.0, so these tests
 * read the literal text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GEMMA2_2B_CONFIG, randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import {
	HF_FLOAT_FIELDS,
	hfConfigText,
	hfModelFiles,
	jsonWithFloats
} from '../../scripts/make-tiny-model';

/** The literal number written for a top-level key (null when the key is absent). */
function literal(text: string, key: string): string | null {
	return new RegExp(`^\\s*"${key}": (-?[0-9.eE+-]+),?$`, 'm').exec(text)?.[1] ?? null;
}
const isFloatLiteral = (s: string) => /[.eE]/.test(s);

describe('Hugging Face config.json of the tiny fixtures', () => {
	for (const [name, config] of [
		['tiny', TINY_CONFIG],
		['2B-shaped', GEMMA2_2B_CONFIG]
	] as const)
		it(`writes every float-typed Gemma2Config field as a float (${name})`, () => {
			const text = hfConfigText(config);
			for (const key of HF_FLOAT_FIELDS) {
				const value = literal(text, key);
				expect(value, `${key} is written`).not.toBeNull();
				expect(isFloatLiteral(value!), `${key} = ${value}`).toBe(true);
			}
			// typed int in transformers: a float there would be refused the same way
			for (const key of ['query_pre_attn_scalar', 'head_dim', 'hidden_size', 'vocab_size'])
				expect(isFloatLiteral(literal(text, key)!), key).toBe(false);
			expect(JSON.parse(text)).toMatchObject({
				final_logit_softcapping: config.finalSoftcap,
				attn_logit_softcapping: config.attnSoftcap,
				rope_theta: config.ropeTheta,
				rms_norm_eps: config.rmsNormEps
			});
		});

	it('the model folder builder uses that text, and fixtures/tiny-hf on disk has it', () => {
		const files = hfModelFiles(randomWeights(TINY_CONFIG, 1, 'f32'));
		const text = files.get('config.json') as string;
		expect(text).toBe(hfConfigText(TINY_CONFIG));
		expect(literal(text, 'final_logit_softcapping')).toBe('3.0');
		const onDisk = join(process.cwd(), 'fixtures', 'tiny-hf', 'config.json');
		if (existsSync(onDisk)) expect(readFileSync(onDisk, 'utf8')).toBe(text);
	});

	it('jsonWithFloats touches only the named top-level integer fields', () => {
		const text = jsonWithFloats({ a: 3, b: 3, c: 2.5, d: { a: 4 }, e: -1 }, ['a', 'c', 'e']);
		expect(text).toBe(
			'{\n  "a": 3.0,\n  "b": 3,\n  "c": 2.5,\n  "d": {\n    "a": 4\n  },\n  "e": -1.0\n}'
		);
	});
});
