/**
 * Issue 12 · poisoned adapters: non-finite or overflowing values, out-of-range LoRA settings and
 * duplicate safetensors keys are refused naming the file, tensor or field; a BOM is tolerated.
 */
import { describe, expect, it } from 'vitest';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { loraTensorName } from '../../src/lib/lora/tensor-names';
import { LORA_DEFAULTS, parseTrainingConfig } from '../../src/lib/lora/config';
import {
	ADAPTER_CONFIG_FILE,
	ADAPTER_WEIGHTS_FILE,
	exportPeftFiles,
	importPeftAdapter,
	importPeftFolder,
	parseAdapterConfig,
	PeftFormatError
} from '../../src/lib/lora/peft';
import { parseSafetensors, writeSafetensors } from '../../src/lib/model/safetensors';
import { repeatedKey, parseJsonText } from '../../src/lib/model/json';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

const lc = { ...LORA_DEFAULTS, r: 2, lora_alpha: 4, target_modules: ['q_proj'] };
const dec = new TextDecoder();

function files(mutate: (A: Float32Array, B: Float32Array) => void = () => {}) {
	const a = createLoraAdapter(TINY_CONFIG, lc, 1);
	const first = a.modules.values().next().value!;
	first.B.fill(0.01);
	mutate(first.A, first.B);
	return exportPeftFiles(TINY_CONFIG, a, { baseModel: 'x' });
}

const load = (f: ReturnType<typeof files>, config = dec.decode(f[ADAPTER_CONFIG_FILE])) =>
	importPeftAdapter(TINY_CONFIG, config, f[ADAPTER_WEIGHTS_FILE]);

const B0 = loraTensorName(0, 'q_proj', 'B');
const A0 = loraTensorName(0, 'q_proj', 'A');

describe('tensor values', () => {
	it('a clean adapter imports', () => {
		expect(load(files()).adapter.modules.size).toBe(TINY_CONFIG.numLayers);
	});

	it.each([
		['NaN in A', (A: Float32Array) => (A[3] = NaN), A0, /element 3 is NaN/],
		[
			'+Infinity in B',
			(_: Float32Array, B: Float32Array) => (B[5] = Infinity),
			B0,
			/element 5 is Infinity/
		],
		[
			'-Infinity in B',
			(_: Float32Array, B: Float32Array) => (B[0] = -Infinity),
			B0,
			/element 0 is -Infinity/
		],
		[
			'3e38 in B (finite, overflows once scaled)',
			(_: Float32Array, B: Float32Array) => (B[1] = 3e38),
			B0,
			/could reach .* over the limit of 10000/
		]
	])('%s is refused naming the tensor', (_, mutate, tensor, why) => {
		const f = files(mutate as (A: Float32Array, B: Float32Array) => void);
		const err = (() => {
			try {
				load(f);
			} catch (e) {
				return e as PeftFormatError;
			}
		})();
		expect(err).toBeInstanceOf(PeftFormatError);
		expect(err!.message).toContain(`${ADAPTER_WEIGHTS_FILE} (${tensor})`);
		expect(err!.message).toMatch(why);
	});

	it('an F16 value that overflowed (0x7c00 = Infinity) is refused', () => {
		const f = files();
		const st = parseSafetensors(f[ADAPTER_WEIGHTS_FILE], 'w');
		const tensors = [...st.tensors].map(([name, t]) => {
			const values = new Float32Array(t.bytes.slice().buffer);
			const bits = new Uint16Array(values.length);
			if (name === B0) bits[2] = 0x7c00;
			return { name, dtype: 'F16' as const, shape: t.shape, data: bits };
		});
		const weights = writeSafetensors(tensors);
		expect(() =>
			importPeftAdapter(TINY_CONFIG, dec.decode(f[ADAPTER_CONFIG_FILE]), weights)
		).toThrow(
			/\(base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_B\.weight\): element 2 is Infinity/
		);
	});

	it('finite values times a huge scale (lora_alpha 1e6, r 1) are refused', () => {
		const f = files((_, B) => B.fill(1));
		const config = JSON.parse(dec.decode(f[ADAPTER_CONFIG_FILE]));
		expect(() => load(f, JSON.stringify({ ...config, lora_alpha: 1e6 }))).toThrow(/could reach/);
	});
});

describe('LoRA settings out of range', () => {
	const cfg = (over: Record<string, unknown>) =>
		JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, ...over });
	it.each([
		['lora_alpha', 1e308, /\(lora_alpha\): 1e\+308: must be a number > 0 and ≤ 1000000/],
		['lora_alpha', 0, /\(lora_alpha\).*must be a number > 0/],
		['lora_alpha', -4, /\(lora_alpha\)/],
		['lora_dropout', -5, /\(lora_dropout\): -5: must be in \[0, 1\)/],
		['lora_dropout', 7, /\(lora_dropout\): 7: must be in \[0, 1\)/],
		['lora_dropout', 1, /\(lora_dropout\)/],
		['lora_dropout', '0.1', /\(lora_dropout\)/],
		['r', 0, /\(r\): 0: must be an integer from 1 to 4096/],
		['r', 1e9, /\(r\).*from 1 to 4096/],
		['r', 2.5, /\(r\)/],
		['rank_pattern', { q_proj: 1e9 }, /\(rank_pattern\.q_proj\)/],
		['alpha_pattern', { q_proj: -1 }, /\(alpha_pattern\.q_proj\)/]
	])('adapter_config.json %s = %j', (field, value, why) => {
		expect(() => parseAdapterConfig(cfg({ [field]: value }))).toThrow(PeftFormatError);
		expect(() => parseAdapterConfig(cfg({ [field]: value }))).toThrow(why);
	});

	it('training configs use the same ranges', () => {
		expect(() => parseTrainingConfig({ lora_alpha: 1e308 })).toThrow(/lora_alpha.*≤ 1000000/);
		expect(() => parseTrainingConfig({ lora_dropout: -5 })).toThrow(/lora_dropout.*\[0, 1\)/);
		expect(() => parseTrainingConfig({ r: 0 })).toThrow(/r = 0.*from 1 to 4096/);
	});

	it('lora_dropout null is PEFT’s default', () => {
		expect(parseAdapterConfig(cfg({ lora_dropout: null })).lora.lora_dropout).toBe(
			LORA_DEFAULTS.lora_dropout
		);
	});
});

describe('JSON: duplicate keys and BOMs', () => {
	it('a safetensors header with a repeated tensor key is refused, naming it', () => {
		const f = files();
		const bytes = f[ADAPTER_WEIGHTS_FILE];
		const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
		const header = dec.decode(bytes.subarray(8, 8 + n));
		const entry = new RegExp(`"${B0.replace(/\./g, '\\.')}":\\{[^}]*\\}`).exec(header)![0];
		// the same key once more, pointing at the same bytes (same length: pad with spaces removed)
		const doubled = header.trimEnd().replace(/\}$/, `,${entry}}`);
		const padded = doubled + ' '.repeat((8 - (doubled.length % 8)) % 8);
		const head = new TextEncoder().encode(padded);
		const out = new Uint8Array(8 + head.length + bytes.length - 8 - n);
		new DataView(out.buffer).setUint32(0, head.length, true);
		out.set(head, 8);
		out.set(bytes.subarray(8 + n), 8 + head.length);
		expect(() => parseSafetensors(out, ADAPTER_WEIGHTS_FILE)).toThrow(
			new RegExp(
				`adapter_model\\.safetensors \\(header\\): header is the key "${B0.replace(/\./g, '\\.')}" appears twice`
			)
		);
	});

	it('repeatedKey: per object, escapes normalised, strings and arrays skipped', () => {
		expect(repeatedKey('{"a":1,"b":{"a":2}}')).toBeNull();
		expect(repeatedKey('{"a":1,"\\u0061":2}')?.key).toBe('a');
		expect(repeatedKey('{"a":"{\\"a\\":1,\\"a\\":2}","b":[{"a":1},{"a":2}]}')).toBeNull();
		expect(repeatedKey('{"x":[1,{"k":1,"k":2}]}')?.key).toBe('k');
		expect(repeatedKey('[{"k":1},{"k":2}]')).toBeNull();
	});

	it('an adapter_config.json with a UTF-8 BOM is read (text and bytes)', () => {
		const f = files();
		const text = dec.decode(f[ADAPTER_CONFIG_FILE]);
		expect(parseAdapterConfig('\ufeff' + text).lora.r).toBe(2);
		const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...f[ADAPTER_CONFIG_FILE]]);
		const imported = importPeftFolder(
			TINY_CONFIG,
			new Map([
				[ADAPTER_CONFIG_FILE, withBom],
				[ADAPTER_WEIGHTS_FILE, f[ADAPTER_WEIGHTS_FILE]]
			])
		);
		expect(imported.adapter.modules.size).toBe(TINY_CONFIG.numLayers);
		expect(parseJsonText('\ufeff{"a":1}')).toEqual({ a: 1 });
	});
});
