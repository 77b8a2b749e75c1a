import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createLoraAdapter, mixAdapters, type LoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import {
	adapterConfigJson,
	ADAPTER_CONFIG_FILE,
	ADAPTER_WEIGHTS_FILE,
	exportPeftFiles,
	exportPeftZip,
	importPeftAdapter,
	importPeftFolder,
	importPeftZip,
	parseAdapterConfig,
	PeftFormatError,
	pythonFloatRepr
} from '../../src/lib/lora/peft';
import { crc32, readZip, writeZip } from '../../src/lib/lora/zip';
import { rawZip } from './zip-fixtures';
import { parseSafetensors, writeSafetensors } from '../../src/lib/model/safetensors';
import { GEMMA2_2B_CONFIG, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';

const all = { ...LORA_DEFAULTS, target_modules: [...ALL_PROJECTIONS] };
const enc = new TextEncoder();
const dec = new TextDecoder();

function trained(lc = { ...all, r: 2, lora_alpha: 4 }, seed = 1): LoraAdapter {
	const a = createLoraAdapter(TINY_CONFIG, lc, seed);
	const r = seededRandom(seed + 100);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround(r() - 0.5);
	return a;
}

function expectSameAdapter(x: LoraAdapter, y: LoraAdapter) {
	expect([...y.modules.keys()]).toEqual([...x.modules.keys()]);
	for (const [k, m] of x.modules) {
		const n = y.modules.get(k)!;
		expect({
			r: n.r,
			alpha: n.alpha,
			scale: n.scale,
			in: n.in,
			out: n.out,
			layer: n.layer,
			proj: n.proj
		}).toEqual({
			r: m.r,
			alpha: m.alpha,
			scale: m.scale,
			in: m.in,
			out: m.out,
			layer: m.layer,
			proj: m.proj
		});
		expect(n.A).toEqual(m.A);
		expect(n.B).toEqual(m.B);
	}
}

describe('adapter_config.json as PEFT writes it', () => {
	it('indent 2, sorted keys, Python floats, PEFT’s keys only, no trailing newline', () => {
		const a = createLoraAdapter(GEMMA2_2B_CONFIG, { ...all, r: 8, lora_alpha: 16 }, 1);
		expect(adapterConfigJson(GEMMA2_2B_CONFIG, a, 'google/gemma-2-2b-jpn-it')).toBe(`{
  "alpha_pattern": {},
  "base_model_name_or_path": "google/gemma-2-2b-jpn-it",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layers_pattern": null,
  "layers_to_transform": null,
  "lora_alpha": 16,
  "lora_dropout": 0.0,
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 8,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
}`);
	});
	it('a null target list is written as PEFT resolves it (gemma2: q_proj, v_proj)', () => {
		const a = createLoraAdapter(TINY_CONFIG, LORA_DEFAULTS, 1);
		expect(JSON.parse(adapterConfigJson(TINY_CONFIG, a, 'm')).target_modules).toEqual([
			'q_proj',
			'v_proj'
		]);
	});
	it('Python float repr and ASCII escaping', () => {
		expect(
			[0, 0.05, 1e-5, 16, 1e16, 123.456, 1.5e-7, 1e-4, -2.5, 1e22].map(pythonFloatRepr)
		).toEqual([
			'0.0',
			'0.05',
			'1e-05',
			'16.0',
			'1e+16',
			'123.456',
			'1.5e-07',
			'0.0001',
			'-2.5',
			'1e+22'
		]);
		const a = createLoraAdapter(TINY_CONFIG, { ...all, lora_dropout: 0.05 }, 1);
		const json = adapterConfigJson(TINY_CONFIG, a, 'ソクラテス/model');
		expect(json).toContain('"lora_dropout": 0.05');
		expect(json).toContain(
			'"base_model_name_or_path": "\\u30bd\\u30af\\u30e9\\u30c6\\u30b9/model"'
		);
	});
});

describe('adapter_model.safetensors names and shapes', () => {
	it('layer 0 of Gemma-2 2B, r = 1: exactly PEFT’s names with the spec table’s shapes, F32', () => {
		const a = createLoraAdapter(
			GEMMA2_2B_CONFIG,
			{ ...all, r: 1, lora_alpha: 1, layers_to_transform: [0] },
			1
		);
		const st = parseSafetensors(
			exportPeftFiles(GEMMA2_2B_CONFIG, a, { baseModel: 'x' })[ADAPTER_WEIGHTS_FILE],
			'a'
		);
		const got = Object.fromEntries(
			[...st.tensors].map(([k, t]) => [k, `${t.dtype} ${t.shape.join('x')}`])
		);
		expect(got).toEqual({
			'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': 'F32 1x2304',
			'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': 'F32 2048x1',
			'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight': 'F32 1x2304',
			'base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight': 'F32 1024x1',
			'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight': 'F32 1x2304',
			'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight': 'F32 1024x1',
			'base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight': 'F32 1x2048',
			'base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight': 'F32 2304x1',
			'base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight': 'F32 1x2304',
			'base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight': 'F32 9216x1',
			'base_model.model.model.layers.0.mlp.up_proj.lora_A.weight': 'F32 1x2304',
			'base_model.model.model.layers.0.mlp.up_proj.lora_B.weight': 'F32 9216x1',
			'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight': 'F32 1x9216',
			'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight': 'F32 2304x1'
		});
		// 49,920·r parameters per layer (spec)
		expect([...st.tensors.values()].reduce((s, t) => s + t.shape[0] * t.shape[1], 0)).toBe(49920);
		expect(st.metadata.format).toBe('pt');
	});
});

describe('round trips', () => {
	it('export → import gives the identical adapter, with the run metadata', () => {
		const a = trained();
		const files = exportPeftFiles(TINY_CONFIG, a, {
			baseModel: 'm',
			metadata: { 'mondo.run': 'r1', 'mondo.loss': '1.25' }
		});
		const back = importPeftAdapter(
			TINY_CONFIG,
			dec.decode(files[ADAPTER_CONFIG_FILE]),
			files[ADAPTER_WEIGHTS_FILE]
		);
		expectSameAdapter(a, back.adapter);
		expect(back.metadata).toMatchObject({ format: 'pt', 'mondo.run': 'r1', 'mondo.loss': '1.25' });
		expect(back.baseModel).toBe('m');
		expect(back.warnings).toEqual([]);
	});
	it('patterns, rslora and layer subsets survive; a mix (uneven ranks) is expressed with patterns', async () => {
		const a = trained({
			...all,
			r: 2,
			lora_alpha: 3,
			use_rslora: true,
			layers_to_transform: [1, 2],
			rank_pattern: { 'mlp.up_proj': 4 },
			alpha_pattern: { q_proj: 5 }
		});
		const back = await importPeftZip(
			TINY_CONFIG,
			exportPeftZip(TINY_CONFIG, a, { baseModel: 'm' })
		);
		expectSameAdapter(a, back.adapter);
		const mix = mixAdapters([
			{ adapter: trained(), weight: 0.3 },
			{
				adapter: trained({ ...all, r: 1, lora_alpha: 1, target_modules: ['v_proj'] }, 5),
				weight: 0.7
			}
		]);
		const json = adapterConfigJson(TINY_CONFIG, mix, 'm');
		expect(JSON.parse(json).rank_pattern).toEqual({
			'layers\\.0\\.self_attn\\.v_proj': 3,
			'layers\\.1\\.self_attn\\.v_proj': 3,
			'layers\\.2\\.self_attn\\.v_proj': 3
		});
		const mixBack = await importPeftZip(
			TINY_CONFIG,
			exportPeftZip(TINY_CONFIG, mix, { baseModel: 'm' })
		);
		expectSameAdapter(mix, mixBack.adapter);
	});
	it('an irregular module set is written as a full-match regex', () => {
		const a = trained();
		a.modules.delete('model.layers.1.mlp.gate_proj');
		const json = JSON.parse(adapterConfigJson(TINY_CONFIG, a, 'm'));
		expect(typeof json.target_modules).toBe('string');
		const files = exportPeftFiles(TINY_CONFIG, a, { baseModel: 'm' });
		expectSameAdapter(
			a,
			importPeftAdapter(
				TINY_CONFIG,
				dec.decode(files[ADAPTER_CONFIG_FILE]),
				files[ADAPTER_WEIGHTS_FILE]
			).adapter
		);
	});
	it('zip: STORE written with correct CRCs; DEFLATE zips (as the OS makes them) are read', async () => {
		expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
		const entries = [
			{ name: 'a.txt', data: enc.encode('hello hello hello') },
			{ name: 'dir/b.bin', data: new Uint8Array([0, 1, 2, 255]) }
		];
		expect(await readZip(writeZip(entries))).toEqual(entries);
		// turn the STORE zip into a DEFLATE one: same layout, method 8, compressed payloads
		const deflated = deflateZip(entries);
		expect(await readZip(deflated)).toEqual(entries);
	});
});

/** A DEFLATE zip (what `zip -r` or Finder produces, minus extras). */
function deflateZip(entries: { name: string; data: Uint8Array }[]): Uint8Array {
	return rawZip(
		entries.map((e) => ({
			name: e.name,
			method: 8,
			payload: new Uint8Array(deflateRawSync(e.data)),
			crc: crc32(e.data),
			usize: e.data.length
		}))
	);
}

describe('import of PEFT-written adapters', () => {
	/** A config as PEFT 0.13+ writes it, with keys the studio does not need. */
	const pythonConfig = (over: Record<string, unknown> = {}) =>
		JSON.stringify({
			alpha_pattern: {},
			auto_mapping: null,
			base_model_name_or_path: 'google/gemma-2-2b-jpn-it',
			bias: 'none',
			eva_config: null,
			exclude_modules: null,
			fan_in_fan_out: false,
			inference_mode: true,
			init_lora_weights: true,
			layer_replication: null,
			layers_pattern: null,
			layers_to_transform: null,
			loftq_config: {},
			lora_alpha: 16,
			lora_bias: false,
			lora_dropout: 0.05,
			megatron_config: null,
			megatron_core: 'megatron.core',
			modules_to_save: null,
			peft_type: 'LORA',
			r: 4,
			rank_pattern: {},
			revision: null,
			target_modules: ['v_proj', 'q_proj'],
			task_type: 'CAUSAL_LM',
			use_dora: false,
			use_rslora: false,
			...over
		});
	const weightsFor = (c: Record<string, unknown>, dtype: 'F32' | 'F16' | 'BF16' = 'F32') => {
		const a = createLoraAdapter(TINY_CONFIG, parseAdapterConfig(pythonConfig(c)).lora, 1);
		return {
			a,
			bytes: writeSafetensors(
				[...a.modules.values()].flatMap((m) => [
					{
						name: `base_model.model.${m.name}.lora_A.weight`,
						dtype,
						shape: [m.r, m.in],
						data: m.A
					},
					{
						name: `base_model.model.${m.name}.lora_B.weight`,
						dtype,
						shape: [m.out, m.r],
						data: m.B
					}
				])
			)
		};
	};

	it('reads extra PEFT keys, F16/BF16 tensors, regex targets, int layers_to_transform, suffix patterns', () => {
		const over = {
			target_modules: 'model\\.layers\\.\\d+\\.mlp\\.(gate|up)_proj',
			layers_to_transform: 1,
			rank_pattern: { 'mlp.up_proj': 2 },
			use_rslora: true
		};
		for (const dtype of ['F32', 'F16', 'BF16'] as const) {
			const { bytes } = weightsFor(over, dtype);
			const { adapter } = importPeftAdapter(TINY_CONFIG, pythonConfig(over), bytes);
			expect([...adapter.modules.keys()]).toEqual([
				'model.layers.1.mlp.gate_proj',
				'model.layers.1.mlp.up_proj'
			]);
			expect(adapter.modules.get('model.layers.1.mlp.up_proj')).toMatchObject({
				r: 2,
				scale: 16 / Math.sqrt(2)
			});
			expect(adapter.modules.get('model.layers.1.mlp.gate_proj')).toMatchObject({ r: 4, scale: 8 });
		}
	});
	it('finds the files inside a zipped folder; refuses pickle-only adapters', async () => {
		const { bytes } = weightsFor({});
		const zip = writeZip([
			{ name: 'my-adapter/', data: new Uint8Array() },
			{ name: 'my-adapter/adapter_config.json', data: enc.encode(pythonConfig()) },
			{ name: 'my-adapter/adapter_model.safetensors', data: bytes }
		]);
		expect((await importPeftZip(TINY_CONFIG, zip)).adapter.modules.size).toBe(6);
		expect(() =>
			importPeftFolder(
				TINY_CONFIG,
				new Map([
					['adapter_config.json', enc.encode(pythonConfig())],
					['adapter_model.bin', new Uint8Array(4)]
				])
			)
		).toThrow(/pickle/);
	});

	const refusals: [string, Record<string, unknown>, RegExp][] = [
		['DoRA', { use_dora: true }, /use_dora.*DoRA/],
		['a trained bias', { bias: 'lora_only' }, /bias.*"lora_only"/],
		['modules_to_save', { modules_to_save: ['lm_head'] }, /modules_to_save/],
		['another PEFT method', { peft_type: 'PREFIX_TUNING' }, /peft_type.*PREFIX_TUNING/],
		['fan_in_fan_out', { fan_in_fan_out: true }, /fan_in_fan_out/],
		['a missing peft_type', { peft_type: undefined }, /peft_type.*missing/],
		['an LM-head target', { target_modules: ['q_proj', 'lm_head'] }, /lm_head/],
		['another layers_pattern', { layers_pattern: 'h' }, /layers_pattern/],
		['layer_replication', { layer_replication: [[0, 2]] }, /layer_replication/],
		[
			'an unconverted PiSSA adapter',
			{ init_lora_weights: 'pissa_niter_4' },
			/init_lora_weights.*base weights/
		]
	];
	for (const [what, over, msg] of refusals)
		it(`refuses ${what}, saying why`, () => {
			const { bytes } = weightsFor({});
			const err = (() => {
				try {
					importPeftAdapter(TINY_CONFIG, pythonConfig(over), bytes);
				} catch (e) {
					return e;
				}
			})();
			expect(err).toBeInstanceOf(PeftFormatError);
			expect((err as Error).message).toMatch(msg);
			expect((err as Error).message).toContain('adapter_config.json');
		});

	it('refuses non-JSON configs', () => {
		expect(() => importPeftAdapter(TINY_CONFIG, '{r: 8', new Uint8Array())).toThrow(
			/adapter_config.json: not valid JSON/
		);
	});
	it('an unknown tensor name is an error (PEFT would silently ignore it), naming the tensor', () => {
		const { a } = weightsFor({});
		const tensors = [...a.modules.values()].flatMap((m) => [
			{
				name: `base_model.model.${m.name}.lora_A.default.weight`,
				dtype: 'F32' as const,
				shape: [m.r, m.in],
				data: m.A
			},
			{
				name: `base_model.model.${m.name}.lora_B.weight`,
				dtype: 'F32' as const,
				shape: [m.out, m.r],
				data: m.B
			}
		]);
		expect(() => importPeftAdapter(TINY_CONFIG, pythonConfig(), writeSafetensors(tensors))).toThrow(
			/adapter_model.safetensors \(base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.default\.weight\): unknown tensor name/
		);
	});
	it('a missing tensor, a wrong shape or an integer dtype is an error naming the tensor', () => {
		const { a } = weightsFor({});
		const mods = [...a.modules.values()];
		const base = mods.flatMap((m) => [
			{
				name: `base_model.model.${m.name}.lora_A.weight`,
				dtype: 'F32' as const,
				shape: [m.r, m.in],
				data: m.A
			},
			{
				name: `base_model.model.${m.name}.lora_B.weight`,
				dtype: 'F32' as const,
				shape: [m.out, m.r],
				data: m.B
			}
		]);
		expect(() =>
			importPeftAdapter(TINY_CONFIG, pythonConfig(), writeSafetensors(base.slice(1)))
		).toThrow(/q_proj\.lora_A\.weight\): missing/);
		const wrong = base.map((t, i) => (i === 0 ? { ...t, shape: [t.shape[1], t.shape[0]] } : t));
		expect(() => importPeftAdapter(TINY_CONFIG, pythonConfig(), writeSafetensors(wrong))).toThrow(
			/q_proj\.lora_A\.weight\): shape \[64, 4\] ≠ expected \[4, 64\]/
		);
		expect(() =>
			importPeftAdapter(TINY_CONFIG, pythonConfig({ r: 8 }), writeSafetensors(base))
		).toThrow(/shape \[4, 64\] ≠ expected \[8, 64\]/);
	});
});
