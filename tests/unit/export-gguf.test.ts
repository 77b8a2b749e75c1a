/**
 * The GGUF LoRA export, read back by an independent reader (@huggingface/gguf): every metadata key,
 * value type and value, every tensor name, shape, dtype and value; the scale fold as a property
 * (llama.cpp's (alpha / r) · lora_b · lora_a = PEFT's s · B · A); refusals; the folder-name keys
 * against gguf-py's own answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gguf, GGMLQuantizationType, GGUFValueType } from '@huggingface/gguf';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { loraTensorName } from '../../src/lib/lora/tensor-names';
import { ALL_PROJECTIONS, LORA_DEFAULTS, type LoraConfig } from '../../src/lib/lora/config';
import { adapterSafetensors, exportPeftFiles } from '../../src/lib/lora/peft';
import { f16ToF32 } from '../../src/lib/model/weights';
import { writeSafetensors } from '../../src/lib/model/safetensors';
import { seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import {
	GgufExportError,
	ggufLoraFile,
	readPeftFilesForGguf,
	readPeftForGguf,
	type GgufDtype
} from '../../src/lib/export/gguf-lora';
import { idToTitle, modelIdComponents } from '../../src/lib/export/gguf-name';
import { writeGguf } from '../../src/lib/export/gguf';

const dir = mkdtempSync(join(tmpdir(), 'gguf-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

/** Our bytes through the independent reader; the tensor values as f32 per tensor name. */
async function readBack(bytes: Uint8Array) {
	const path = join(dir, `t${fileNo++}.gguf`);
	writeFileSync(path, bytes);
	const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
	const values = new Map<string, Float32Array>();
	for (const t of parsed.tensorInfos) {
		const n = t.shape.reduce((a, b) => a * Number(b), 1);
		const start = Number(parsed.tensorDataOffset + t.offset);
		const view = new DataView(bytes.buffer, bytes.byteOffset + start);
		const out = new Float32Array(n);
		for (let i = 0; i < n; i++)
			out[i] =
				t.dtype === GGMLQuantizationType.F32
					? view.getFloat32(4 * i, true)
					: f16ToF32(view.getUint16(2 * i, true));
		values.set(t.name, out);
	}
	return { ...parsed, values };
}

function trained(lc: LoraConfig, seed = 1): LoraAdapter {
	const a = createLoraAdapter(TINY_CONFIG, lc, seed);
	const r = seededRandom(seed + 100);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround(r() - 0.5);
	return a;
}

const PLAIN: LoraConfig = {
	...LORA_DEFAULTS,
	r: 2,
	lora_alpha: 4,
	target_modules: [...ALL_PROJECTIONS]
};

/** The adapter as the PEFT files the export reads (what the Adapters page stores). */
function viaPeft(a: LoraAdapter): LoraAdapter {
	const f = exportPeftFiles(TINY_CONFIG, a, { baseModel: 'google/gemma-2-2b-jpn-it' });
	return readPeftFilesForGguf(new Map(Object.entries(f)));
}

const GGUF_NAMES: Record<string, string> = {
	q_proj: 'attn_q',
	k_proj: 'attn_k',
	v_proj: 'attn_v',
	o_proj: 'attn_output',
	gate_proj: 'ffn_gate',
	up_proj: 'ffn_up',
	down_proj: 'ffn_down'
};

describe('GGUF LoRA read back by @huggingface/gguf', { timeout: 60_000 }, () => {
	for (const dtype of ['f32', 'f16'] as GgufDtype[])
		it(`${dtype}: header, every key, every tensor`, async () => {
			const adapter = viaPeft(trained(PLAIN));
			const file = await readBack(ggufLoraFile(adapter, { dtype, folderName: 'socrates' }));
			const md = file.typedMetadata;
			expect(md.version).toEqual({ value: 3, type: GGUFValueType.UINT32 });
			expect(md.tensor_count.value).toBe(2n * BigInt(adapter.modules.size));
			// every key, in the converter's order, with its value type
			expect(
				Object.entries(md)
					.filter(([k]) => !['version', 'tensor_count', 'kv_count'].includes(k))
					.map(([k, v]) => [k, v.type, v.value])
			).toEqual([
				['general.architecture', GGUFValueType.STRING, 'gemma2'],
				['general.type', GGUFValueType.STRING, 'adapter'],
				['adapter.type', GGUFValueType.STRING, 'lora'],
				['general.name', GGUFValueType.STRING, 'Socrates'],
				['adapter.lora.alpha', GGUFValueType.FLOAT32, 4],
				['general.quantization_version', GGUFValueType.UINT32, 2]
			]);
			expect(md.kv_count.value).toBe(6n);
			expect(Number(file.tensorDataOffset) % 32).toBe(0);
			const want = [...adapter.modules.values()].flatMap((m) => {
				const base = `blk.${m.layer}.${GGUF_NAMES[m.proj]}.weight`;
				return [
					{ name: `${base}.lora_a`, shape: [m.in, m.r], values: m.A },
					{ name: `${base}.lora_b`, shape: [m.r, m.out], values: m.B }
				];
			});
			expect(file.tensorInfos.map((t) => t.name)).toEqual(want.map((w) => w.name));
			for (const [i, t] of file.tensorInfos.entries()) {
				expect(t.shape.map(Number)).toEqual(want[i].shape); // ggml order: ne[0] innermost
				expect(t.n_dims).toBe(2);
				expect(t.dtype).toBe(dtype === 'f32' ? GGMLQuantizationType.F32 : GGMLQuantizationType.F16);
				expect(Number(t.offset) % 32).toBe(0);
				const got = file.values.get(t.name)!;
				if (dtype === 'f32') expect(got).toEqual(want[i].values);
				else
					want[i].values.forEach((v, j) =>
						// half precision: 11 significant bits; values here are > 2^-14 or tiny
						expect(Math.abs(got[j] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25)
					);
			}
		});

	it('names: the keys gguf-py derives from the folder name, in its order', async () => {
		const file = await readBack(
			ggufLoraFile(viaPeft(trained(PLAIN)), { dtype: 'f16', folderName: 'gemma-2-2b-socrates-v2' })
		);
		const keys = Object.entries(file.typedMetadata)
			.filter(([k]) => k.startsWith('general.') && k !== 'general.quantization_version')
			.map(([k, v]) => [k, v.value]);
		expect(keys).toEqual([
			['general.architecture', 'gemma2'],
			['general.type', 'adapter'],
			['general.name', 'Gemma 2 2b Socrates v2'],
			['general.version', 'v2'],
			['general.finetune', 'socrates'],
			['general.basename', 'gemma-2'],
			['general.size_label', '2B']
		]);
	});

	it('tensor order follows the data order of adapter_model.safetensors (as load_file yields)', () => {
		const a = trained({ ...PLAIN, target_modules: ['q_proj', 'v_proj'] });
		// a file written in sorted-name order, as Python's safetensors writes it
		const tensors = [...a.modules.values()]
			.flatMap((m) => [
				{ name: loraTensorName(m.layer, m.proj, 'A'), shape: [m.r, m.in], data: m.A },
				{ name: loraTensorName(m.layer, m.proj, 'B'), shape: [m.out, m.r], data: m.B }
			])
			.sort((x, y) => (x.name < y.name ? -1 : 1))
			.map((t) => ({ ...t, dtype: 'F32' as const }));
		const files = exportPeftFiles(TINY_CONFIG, a, { baseModel: 'x' });
		const back = readPeftForGguf(
			new TextDecoder().decode(files['adapter_config.json']),
			writeSafetensors(tensors)
		);
		expect([...back.modules.keys()]).toEqual([
			'model.layers.0.self_attn.q_proj',
			'model.layers.0.self_attn.v_proj',
			'model.layers.1.self_attn.q_proj',
			'model.layers.1.self_attn.v_proj',
			'model.layers.2.self_attn.q_proj',
			'model.layers.2.self_attn.v_proj'
		]);
		expect(adapterSafetensors(a).length).toBeGreaterThan(0);
	});
});

describe("llama.cpp's scale: (alpha / r) · lora_b · lora_a = PEFT's s · B · A", () => {
	const pattern = fc.record({
		layer: fc.integer({ min: 0, max: TINY_CONFIG.numLayers - 1 }),
		proj: fc.constantFrom(...ALL_PROJECTIONS)
	});
	it('for random rank, alpha, rsLoRA, rank_pattern and alpha_pattern', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 1, max: 6 }),
				fc.double({ min: 0.25, max: 64, noNaN: true }),
				fc.boolean(),
				fc.array(fc.tuple(pattern, fc.integer({ min: 1, max: 6 })), { maxLength: 3 }),
				fc.array(fc.tuple(pattern, fc.double({ min: 0.25, max: 64, noNaN: true })), {
					maxLength: 3
				}),
				fc.integer({ min: 1, max: 1000 }),
				async (r, alpha, rslora, ranks, alphas, seed) => {
					const key = (p: { layer: number; proj: string }) =>
						`layers\\.${p.layer}\\.(self_attn|mlp)\\.${p.proj}`;
					const lc: LoraConfig = {
						...PLAIN,
						r,
						lora_alpha: alpha,
						use_rslora: rslora,
						rank_pattern: Object.fromEntries(ranks.map(([p, v]) => [key(p), v])),
						alpha_pattern: Object.fromEntries(alphas.map(([p, v]) => [key(p), v]))
					};
					const ours = viaPeft(trained(lc, seed));
					const file = await readBack(ggufLoraFile(ours, { dtype: 'f32', folderName: 'p' }));
					const ggufAlpha = file.typedMetadata['adapter.lora.alpha'].value as number;
					expect(ggufAlpha).toBe(Math.fround(alpha));
					for (const m of ours.modules.values()) {
						const base = `blk.${m.layer}.${GGUF_NAMES[m.proj]}.weight`;
						const A = file.values.get(`${base}.lora_a`)!;
						const B = file.values.get(`${base}.lora_b`)!;
						const rank = B.length / m.out; // lora_b's ne[0], as llama.cpp reads it
						expect(rank).toBe(m.r);
						const llamaScale = Math.fround(Math.fround(ggufAlpha) / rank);
						let worst = 0;
						for (let o = 0; o < m.out; o += 3)
							for (let i = 0; i < m.in; i += 3) {
								let theirs = 0;
								let want = 0;
								let mag = 0;
								for (let j = 0; j < m.r; j++) {
									theirs += B[o * m.r + j] * A[j * m.in + i];
									want += m.B[o * m.r + j] * m.A[j * m.in + i];
									mag += Math.abs(m.B[o * m.r + j] * m.A[j * m.in + i]);
								}
								// relative to the terms' size: f32 rounding of alpha/r, of B·k, of alpha
								const err = Math.abs(llamaScale * theirs - m.scale * want) / (m.scale * mag);
								worst = Math.max(worst, err);
							}
						expect(worst, m.name).toBeLessThan(1e-6);
					}
				}
			),
			{ numRuns: 30, seed: 20261203 }
		);
	}, 60_000);
});

describe('what cannot be exported is refused, naming it', () => {
	const peft = (lc: LoraConfig) =>
		exportPeftFiles(TINY_CONFIG, trained(lc), { baseModel: 'google/gemma-2-2b-jpn-it' });
	const configWith = (extra: Record<string, unknown>) => {
		const f = peft(PLAIN);
		const cfg = JSON.parse(new TextDecoder().decode(f['adapter_config.json']));
		return { cfg: JSON.stringify({ ...cfg, ...extra }), st: f['adapter_model.safetensors'] };
	};
	it('DoRA', () => {
		const { cfg, st } = configWith({ use_dora: true });
		expect(() => readPeftForGguf(cfg, st)).toThrow(GgufExportError);
		expect(() => readPeftForGguf(cfg, st)).toThrow(/cannot export to GGUF.*use_dora.*DoRA/);
	});
	it('a tensor llama.cpp cannot apply (LM head, embeddings)', () => {
		const { cfg } = configWith({});
		const st = writeSafetensors([
			{
				name: 'base_model.model.lm_head.lora_A.weight',
				dtype: 'F32',
				shape: [1, 2],
				data: new Float32Array(2)
			}
		]);
		expect(() => readPeftForGguf(cfg, st)).toThrow(/lm_head\.lora_A\.weight.*not a LoRA tensor/);
	});
	it('half a pair, or a rank that contradicts the config', () => {
		const { cfg } = configWith({});
		const A = (r: number) => ({
			name: loraTensorName(0, 'q_proj', 'A'),
			dtype: 'F32' as const,
			shape: [r, 64],
			data: new Float32Array(r * 64)
		});
		expect(() => readPeftForGguf(cfg, writeSafetensors([A(2)]))).toThrow(/lora_B half is missing/);
		const B3 = {
			name: loraTensorName(0, 'q_proj', 'B'),
			dtype: 'F32' as const,
			shape: [128, 3],
			data: new Float32Array(384)
		};
		expect(() => readPeftForGguf(cfg, writeSafetensors([A(3), B3]))).toThrow(/rank 3 ≠ 2/);
	});
	it('writer: duplicate keys, bad values, data that does not fit the shape', () => {
		expect(() =>
			writeGguf(
				[
					{ key: 'a', type: 'UINT32', value: 1 },
					{ key: 'a', type: 'UINT32', value: 2 }
				],
				[]
			)
		).toThrow(/GGUF a: key written twice/);
		expect(() => writeGguf([{ key: 'b', type: 'UINT8', value: 300 }], [])).toThrow(/GGUF b/);
		expect(() =>
			writeGguf([], [{ name: 't', shape: [2, 2], type: 'F32', data: new Float32Array(3) }])
		).toThrow(/GGUF t: F32 data must be a Float32Array of 4 values/);
	});
});

describe('folder-name keys match gguf-py Metadata (answers of gguf 0.19.0)', () => {
	// [folder, total params, full name, org, basename, finetune, version, size label, id_to_title]
	const CASES: [string, number, ...(string | null)[]][] = [
		[
			'gemma-2-2b-socrates-v2',
			-1000,
			'gemma-2-2b-socrates-v2',
			null,
			'gemma-2',
			'socrates',
			'v2',
			'2B',
			'Gemma 2 2b Socrates v2'
		],
		['socrates', -1000, 'socrates', null, null, null, null, null, 'Socrates'],
		['ソクラテス', -1000, 'ソクラテス', null, null, null, null, null, 'ソクラテス'],
		['my lora', -1000, 'my lora', null, null, null, null, null, 'My Lora'],
		[
			'Mistral-7B-Instruct-v0.2-lora',
			-100000000,
			'Mistral-7B-Instruct-v0.2-lora',
			null,
			'Mistral',
			'Instruct',
			'v0.2',
			'7B',
			'Mistral 7B Instruct v0.2 Lora'
		],
		[
			'gemma-2-2b-jpn-it-lora-q8_0',
			-1000000,
			'gemma-2-2b-jpn-it-lora-q8_0',
			null,
			'gemma-2',
			'jpn-it',
			null,
			'2B',
			'Gemma 2 2b Jpn It Lora Q8_0'
		],
		['bloom-7b1-chat', -5, 'bloom-7b1-chat', null, 'bloom', 'chat', null, '7.1B', 'Bloom 7b1 Chat'],
		[
			'Socrates-LoRA-32k',
			-1000000000,
			'Socrates-LoRA-32k',
			null,
			'Socrates',
			'32k',
			null,
			null,
			'Socrates LoRA 32k'
		],
		[
			'abc-v1.2-8x7B-fp16',
			-1000000000000,
			'abc-v1.2-8x7B-fp16',
			null,
			'abc-v1.2',
			null,
			null,
			'8x7B',
			'Abc v1.2 8x7B Fp16'
		],
		['tiny-hf', -22016, 'tiny-hf', null, null, null, null, null, 'Tiny Hf'],
		[
			'plato_the-large-mini',
			-1,
			'plato_the-large-mini',
			null,
			'plato_the',
			null,
			null,
			'large-mini',
			'Plato_The Large Mini'
		],
		[
			'org/Model-3B-mini',
			-10000000000,
			'Model-3B-mini',
			'org',
			'Model',
			'mini',
			null,
			'3B',
			'Model 3B Mini'
		]
	];
	for (const [id, total, fullName, org, basename, finetune, version, sizeLabel, title] of CASES)
		it(id, () => {
			expect(modelIdComponents(id, total)).toEqual({
				fullName,
				org,
				basename,
				finetune,
				version,
				sizeLabel
			});
			expect(idToTitle(fullName!)).toBe(title);
		});
});
