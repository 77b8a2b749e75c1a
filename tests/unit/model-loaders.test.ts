import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/lib/model/config';
import { filesFromMap, type ModelFiles } from '../../src/lib/model/files';
import { detectLayout, loadModel, modelFileList } from '../../src/lib/model/load';
import {
	f32ToBf16,
	bf16ToF32,
	parseSafetensors,
	writeSafetensors
} from '../../src/lib/model/safetensors';
import {
	f16ToF32,
	f32ToF16,
	PROJECTIONS,
	quantizeQ4,
	type Gemma2Weights,
	type Linear,
	type Q4Linear
} from '../../src/lib/model/weights';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import {
	hfModelFiles,
	mlcModelFiles,
	tinyFixtures,
	type FolderFiles
} from '../../scripts/make-tiny-model';

const SEED = 7;
const f32Weights = randomWeights(TINY_CONFIG, SEED, 'f32');
const q4f16Weights = randomWeights(TINY_CONFIG, SEED, 'q4f16');
const q4f32Weights = randomWeights(TINY_CONFIG, SEED, 'q4f32');

const asFiles = (folder: FolderFiles, name = 'test folder'): ModelFiles =>
	filesFromMap(new Map(folder), name);
const f32 = (l: Linear) => {
	if (l.kind !== 'f32') throw new Error('expected f32');
	return l.data;
};
const q4 = (l: Linear): Q4Linear => {
	if (l.kind !== 'q4') throw new Error('expected q4');
	return l;
};
const norms = (w: Gemma2Weights) => [
	...w.layers.flatMap((l) => [l.inputNorm, l.postAttnNorm, l.preFfnNorm, l.postFfnNorm]),
	w.finalNorm
];

/** Bitwise equality of typed arrays, reported by first difference (vitest's toEqual is slow on big arrays). */
function expectSameBits(got: ArrayBufferView, want: ArrayBufferView) {
	const a = Buffer.from(got.buffer, got.byteOffset, got.byteLength);
	const b = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
	if (a.equals(b)) return;
	expect(got.constructor).toBe(want.constructor);
	const size = (got as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
	let i = 0;
	while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
	const at = Math.floor(i / size);
	const g = got as unknown as ArrayLike<number>;
	const w = want as unknown as ArrayLike<number>;
	expect({ length: g.length, [`element ${at}`]: g[at] }).toEqual({
		length: w.length,
		[`element ${at}`]: w[at]
	});
}

async function loadError(files: ModelFiles, options = {}): Promise<ModelFormatError> {
	try {
		await loadModel(files, options);
	} catch (e) {
		expect(e).toBeInstanceOf(ModelFormatError);
		return e as ModelFormatError;
	}
	throw new Error('expected the load to fail');
}

describe('Hugging Face layout', () => {
	it('loads exactly the weights written (F32), with the config of the folder', async () => {
		const loaded = await loadModel(asFiles(hfModelFiles(f32Weights)));
		expect(loaded.layout).toBe('hf');
		expect(loaded.quantization).toBe('f32');
		expect(loaded.config).toEqual(TINY_CONFIG);
		expectSameBits(f32(loaded.weights.embed), f32(f32Weights.embed));
		for (let i = 0; i < TINY_CONFIG.numLayers; i++)
			for (const p of PROJECTIONS) {
				const got = loaded.weights.layers[i].proj[p];
				const want = f32Weights.layers[i].proj[p];
				expect([got.rows, got.cols]).toEqual([want.rows, want.cols]);
				expectSameBits(f32(got), f32(want));
			}
	});

	it('adds the +1 to the norms exactly once (HF stores multiplier − 1)', async () => {
		const files = hfModelFiles(f32Weights);
		const stored = parseSafetensors(
			files.get('model.safetensors') as Uint8Array,
			'model.safetensors'
		);
		const storedFinal = new Float32Array(
			stored.tensors.get('model.norm.weight')!.bytes.slice().buffer
		);
		const loaded = await loadModel(asFiles(files));
		const want = norms(f32Weights);
		const got = norms(loaded.weights);
		for (let n = 0; n < want.length; n++)
			for (let i = 0; i < want[n].length; i++) {
				// f32 (v − 1) + 1 is v except for a last-bit rounding when v < 0.5.
				expect(got[n][i]).toBe(Math.fround(1 + Math.fround(want[n][i] - 1)));
				expect(Math.abs(got[n][i] - want[n][i])).toBeLessThan(1e-7);
			}
		expect(storedFinal[0]).toBeCloseTo(f32Weights.finalNorm[0] - 1, 6);
	});

	it('loads shards listed by model.safetensors.index.json, widening BF16 exactly', async () => {
		const files = hfModelFiles(f32Weights, { shardDtypes: ['F32', 'BF16'] });
		expect(files.has('model.safetensors')).toBe(false);
		const loaded = await loadModel(asFiles(files));
		const bf16 = (v: number) => bf16ToF32(f32ToBf16(v));
		const index = JSON.parse(files.get('model.safetensors.index.json') as string).weight_map;
		// The embedding is in the F32 shard, the last layer's down_proj in the BF16 one.
		expect(index['model.embed_tokens.weight']).toBe('model-00001-of-00002.safetensors');
		expect(index['model.layers.2.mlp.down_proj.weight']).toBe('model-00002-of-00002.safetensors');
		expectSameBits(f32(loaded.weights.embed), f32(f32Weights.embed));
		const want = f32(f32Weights.layers[2].proj.down_proj);
		expectSameBits(f32(loaded.weights.layers[2].proj.down_proj), Float32Array.from(want, bf16));
		const finalNorm = f32Weights.finalNorm;
		expectSameBits(
			loaded.weights.finalNorm,
			Float32Array.from(finalNorm, (v) => 1 + bf16(Math.fround(v - 1)))
		);
	});

	it("quantizes on load with weights: 'q4' (q4f16_1, same words and scales as quantizeQ4)", async () => {
		const loaded = await loadModel(asFiles(hfModelFiles(f32Weights)), { weights: 'q4' });
		expect(loaded.quantization).toBe('q4f16_1');
		const got = q4(loaded.weights.layers[1].proj.gate_proj);
		const src = f32Weights.layers[1].proj.gate_proj;
		const want = quantizeQ4(f32(src), src.rows, src.cols, 'f16');
		expectSameBits(got.qweight, want.qweight);
		expect(got.scales).toEqual(want.scales);
		expect(loaded.weights.layers[1].inputNorm).toEqual(
			Float32Array.from(f32Weights.layers[1].inputNorm, (v) => 1 + Math.fround(v - 1))
		);
	});
});

describe('MLC layout', () => {
	it('q4f16_1 (tensor-cache.json): q4 words and f16 scales exact, fused qkv/gate_up split per projection', async () => {
		const loaded = await loadModel(asFiles(mlcModelFiles(q4f16Weights, 'q4f16_1')));
		expect(loaded.layout).toBe('mlc');
		expect(loaded.quantization).toBe('q4f16_1');
		expect(loaded.config).toEqual(TINY_CONFIG);
		const cmp = (got: Linear, want: Linear) => {
			const g = q4(got);
			const w = q4(want);
			expect([g.rows, g.cols]).toEqual([w.rows, w.cols]);
			expectSameBits(g.qweight, w.qweight);
			expect(g.scales).toEqual(w.scales);
		};
		cmp(loaded.weights.embed, q4f16Weights.embed);
		for (let i = 0; i < TINY_CONFIG.numLayers; i++)
			for (const p of PROJECTIONS)
				cmp(loaded.weights.layers[i].proj[p], q4f16Weights.layers[i].proj[p]);
	});

	it('uses the stored norms as multipliers (the +1 is already there, never added again)', async () => {
		const loaded = await loadModel(asFiles(mlcModelFiles(q4f16Weights, 'q4f16_1')));
		const want = norms(q4f16Weights);
		const got = norms(loaded.weights);
		for (let n = 0; n < want.length; n++)
			expect(got[n]).toEqual(Float32Array.from(want[n], (v) => f16ToF32(f32ToF16(v))));
	});

	it('q4f32_1 (ndarray-cache.json, int32 weights, f32-to-bf16 floats): words exact, scales and norms widened from bf16', async () => {
		const files = mlcModelFiles(q4f32Weights, 'q4f32_1', {
			manifestName: 'ndarray-cache.json',
			uintName: 'int32'
		});
		expect(files.has('tensor-cache.json')).toBe(false);
		const loaded = await loadModel(asFiles(files));
		expect(loaded.quantization).toBe('q4f32_1');
		const bf16 = (v: number) => bf16ToF32(f32ToBf16(v));
		for (const p of PROJECTIONS) {
			const got = q4(loaded.weights.layers[0].proj[p]);
			const want = q4(q4f32Weights.layers[0].proj[p]);
			expectSameBits(got.qweight, want.qweight);
			if (got.scales.dtype !== 'f32' || want.scales.dtype !== 'f32')
				throw new Error('expected f32 scales');
			expect(got.scales.data).toEqual(Float32Array.from(want.scales.data, bf16));
		}
		expect(loaded.weights.finalNorm).toEqual(Float32Array.from(q4f32Weights.finalNorm, bf16));
	});

	it("dequantizes to f32 with weights: 'f32'", async () => {
		const loaded = await loadModel(asFiles(mlcModelFiles(q4f16Weights, 'q4f16_1')), {
			weights: 'f32'
		});
		expect(loaded.quantization).toBe('f32');
		const got = f32(loaded.weights.layers[0].proj.k_proj);
		const src = q4(q4f16Weights.layers[0].proj.k_proj);
		const word = src.qweight[0];
		expect(got[1]).toBe(
			(((word >>> 4) & 0xf) - 7) * f16ToF32(src.scales.dtype === 'f16' ? src.scales.bits[0] : 0)
		);
	});
});

describe('detectLayout', () => {
	it('tells HF from MLC and refuses a folder that is neither', async () => {
		expect(await detectLayout(asFiles(hfModelFiles(f32Weights, { withTokenizer: false })))).toBe(
			'hf'
		);
		expect(await detectLayout(asFiles(mlcModelFiles(q4f16Weights, 'q4f16_1')))).toBe('mlc');
		await expect(
			detectLayout(filesFromMap(new Map([['readme.md', 'hi']]), 'folder x'))
		).rejects.toThrow(/folder x: not a model folder/);
	});
});

describe('modelFileList', () => {
	it('lists what the studio needs, with shard sizes and md5 from the MLC manifest', async () => {
		const mlc = mlcModelFiles(q4f16Weights, 'q4f16_1');
		const list = await modelFileList(asFiles(mlc));
		const shards = [...mlc.keys()].filter((k) => k.endsWith('.bin'));
		expect(list.map((e) => e.path).sort()).toEqual(
			[
				'mlc-chat-config.json',
				'tensor-cache.json',
				'tokenizer.json',
				'tokenizer_config.json',
				...shards
			].sort()
		);
		for (const e of list.filter((e) => e.path.endsWith('.bin')))
			expect(e.size).toBe((mlc.get(e.path) as Uint8Array).byteLength);
		const hf = hfModelFiles(f32Weights, { shardDtypes: ['F32', 'BF16'] });
		expect((await modelFileList(asFiles(hf))).map((e) => e.path)).toEqual([
			'config.json',
			'model.safetensors.index.json',
			'model-00001-of-00002.safetensors',
			'model-00002-of-00002.safetensors',
			'tokenizer.json',
			'tokenizer_config.json'
		]);
	});
});

// ---------------------------------------------------------------- damaged folders

function editJson(folder: FolderFiles, file: string, edit: (json: any) => void): FolderFiles {
	const copy = new Map(folder);
	const json = JSON.parse(copy.get(file) as string);
	edit(json);
	copy.set(file, JSON.stringify(json));
	return copy;
}

/** Rewrite one HF safetensors file, changing its tensors with `edit`. */
function editSafetensors(
	folder: FolderFiles,
	file: string,
	edit: (tensors: { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[]) => void
): FolderFiles {
	const copy = new Map(folder);
	const parsed = parseSafetensors(copy.get(file) as Uint8Array, file);
	const tensors = [...parsed.tensors].map(([name, t]) => ({
		name,
		dtype: 'F32' as const,
		shape: t.shape,
		data: new Float32Array(t.bytes.slice().buffer)
	}));
	edit(tensors);
	copy.set(file, writeSafetensors(tensors));
	return copy;
}

describe('damaged Hugging Face folders: errors name the file and the field or tensor', () => {
	const good = hfModelFiles(f32Weights, { withTokenizer: false });

	it('missing config key', async () => {
		const e = await loadError(
			asFiles(editJson(good, 'config.json', (j) => delete j.num_hidden_layers))
		);
		expect(e.message).toBe('config.json (num_hidden_layers): required key is missing');
	});
	it('missing tensor', async () => {
		const bad = editSafetensors(good, 'model.safetensors', (ts) =>
			ts.splice(
				ts.findIndex((t) => t.name === 'model.layers.1.mlp.up_proj.weight'),
				1
			)
		);
		const e = await loadError(asFiles(bad));
		expect(e.message).toBe('model.safetensors (model.layers.1.mlp.up_proj.weight): tensor missing');
	});
	it('missing tensor in a sharded index', async () => {
		const sharded = hfModelFiles(f32Weights, {
			shardDtypes: ['F32', 'BF16'],
			withTokenizer: false
		});
		const bad = editJson(
			sharded,
			'model.safetensors.index.json',
			(j) => delete j.weight_map['model.norm.weight']
		);
		expect((await loadError(asFiles(bad))).message).toBe(
			'model.safetensors.index.json (model.norm.weight): tensor missing from weight_map'
		);
	});
	it('wrong shape given the config', async () => {
		const bad = editJson(good, 'config.json', (j) => (j.intermediate_size = 96));
		expect((await loadError(asFiles(bad))).message).toBe(
			'model.safetensors (model.layers.0.mlp.gate_proj.weight): wrong shape [128, 64]: config.json says [96, 64]'
		);
	});
	it('wrong shape (a transposed projection)', async () => {
		const bad = editSafetensors(good, 'model.safetensors', (ts) => {
			const t = ts.find((t) => t.name === 'model.layers.2.self_attn.o_proj.weight')!;
			t.shape = [t.shape[1], t.shape[0]];
		});
		expect((await loadError(asFiles(bad))).message).toBe(
			'model.safetensors (model.layers.2.self_attn.o_proj.weight): wrong shape [128, 64]: config.json says [64, 128]'
		);
	});
	it('wrong dtype', async () => {
		const copy = new Map(good);
		const bytes = (copy.get('model.safetensors') as Uint8Array).slice();
		const n = new DataView(bytes.buffer).getUint32(0, true);
		const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
		const patched = header.replace(
			'"model.norm.weight":{"dtype":"F32"',
			'"model.norm.weight":{"dtype":"I32"'
		);
		expect(patched).not.toBe(header);
		bytes.set(new TextEncoder().encode(patched), 8);
		copy.set('model.safetensors', bytes);
		expect((await loadError(asFiles(copy))).message).toBe(
			'model.safetensors (model.norm.weight): wrong dtype I32: expected F32, F16 or BF16'
		);
	});
	it('truncated shard', async () => {
		const sharded = hfModelFiles(f32Weights, {
			shardDtypes: ['F32', 'BF16'],
			withTokenizer: false
		});
		const shard = sharded.get('model-00002-of-00002.safetensors') as Uint8Array;
		sharded.set('model-00002-of-00002.safetensors', shard.subarray(0, shard.byteLength - 100));
		const e = await loadError(asFiles(sharded));
		expect(e.file).toBe('model-00002-of-00002.safetensors');
		expect(e.message).toMatch(
			/^model-00002-of-00002\.safetensors \(model\.[\w.]+\): data_offsets \[\d+, \d+\] out of range/
		);
	});
});

describe('damaged MLC folders: errors name the file and the field or tensor', () => {
	const good = mlcModelFiles(q4f16Weights, 'q4f16_1', { withTokenizer: false });

	it('missing config key', async () => {
		const bad = editJson(
			good,
			'mlc-chat-config.json',
			(j) => delete j.model_config.num_key_value_heads
		);
		expect((await loadError(asFiles(bad))).message).toBe(
			'mlc-chat-config.json (model_config.num_key_value_heads): required key is missing'
		);
	});
	it('unsupported quantization', async () => {
		const bad = editJson(good, 'mlc-chat-config.json', (j) => (j.quantization = 'q3f16_1'));
		expect((await loadError(asFiles(bad))).message).toMatch(
			/^mlc-chat-config\.json \(quantization\): "q3f16_1" is not supported/
		);
	});
	it('missing tensor', async () => {
		const bad = editJson(good, 'tensor-cache.json', (j) => {
			for (const shard of j.records)
				shard.records = shard.records.filter(
					(r: any) => r.name !== 'model.layers.1.mlp.gate_up_proj.q_scale'
				);
		});
		expect((await loadError(asFiles(bad))).message).toBe(
			'tensor-cache.json (model.layers.1.mlp.gate_up_proj.q_scale): tensor missing'
		);
	});
	it('wrong shape', async () => {
		const bad = editJson(good, 'tensor-cache.json', (j) => {
			for (const shard of j.records)
				for (const r of shard.records)
					if (r.name === 'model.layers.0.self_attn.qkv_proj.q_weight') r.shape = [128, 16];
		});
		expect((await loadError(asFiles(bad))).message).toBe(
			'tensor-cache.json (model.layers.0.self_attn.qkv_proj.q_weight): wrong shape [128, 16]: mlc-chat-config.json says [256, 8]'
		);
	});
	it('wrong dtype', async () => {
		const bad = editJson(good, 'tensor-cache.json', (j) => {
			for (const shard of j.records)
				for (const r of shard.records)
					if (r.name === 'model.layers.2.mlp.down_proj.q_weight') {
						r.dtype = 'float32';
						delete r.format;
					}
		});
		expect((await loadError(asFiles(bad))).message).toBe(
			'tensor-cache.json (model.layers.2.mlp.down_proj.q_weight): wrong dtype float32: expected uint32 (or int32)'
		);
	});
	it('record nbytes inconsistent with shape and dtype', async () => {
		const bad = editJson(good, 'tensor-cache.json', (j) => {
			j.records[0].records[0].nbytes += 4;
		});
		const e = await loadError(asFiles(bad));
		expect(e.file).toBe('tensor-cache.json');
		expect(e.message).toMatch(/nbytes \d+ does not match shape/);
	});
	it('truncated shard', async () => {
		const copy = new Map(good);
		const shard = copy.get('params_shard_2.bin') as Uint8Array;
		copy.set('params_shard_2.bin', shard.subarray(0, shard.byteLength - 1));
		expect((await loadError(asFiles(copy))).message).toBe(
			`params_shard_2.bin: truncated: ${shard.byteLength - 1} bytes, expected ${shard.byteLength}`
		);
	});
	it('damaged shard caught by md5 (and let through with verifyMd5: false)', async () => {
		const copy = new Map(good);
		const shard = (copy.get('params_shard_1.bin') as Uint8Array).slice();
		shard[10] ^= 0xff;
		copy.set('params_shard_1.bin', shard);
		const e = await loadError(asFiles(copy));
		expect(e.message).toMatch(
			/^params_shard_1\.bin \(md5sum\): md5 [0-9a-f]{32} does not match the expected [0-9a-f]{32}$/
		);
		await expect(loadModel(asFiles(copy), { verifyMd5: false })).resolves.toBeDefined();
	});
});

/** Byte equality without vitest's element-by-element diff (slow on big arrays). */
function sameContent(a: Uint8Array | string, b: Uint8Array | string): boolean {
	const bytes = (x: Uint8Array | string) =>
		typeof x === 'string' ? Buffer.from(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
	return bytes(a).equals(bytes(b));
}

describe('make-tiny-model fixtures', () => {
	it('are deterministic for a seed, small, and match fixtures/ when it was generated', () => {
		const a = tinyFixtures(1);
		const b = tinyFixtures(1);
		let total = 0;
		for (const [name, folder] of a)
			for (const [path, content] of folder) {
				expect(sameContent(b.get(name)!.get(path)!, content), `${name}/${path}`).toBe(true);
				total += typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
			}
		expect(total).toBeLessThan(4e6);
		const dir = join(process.cwd(), 'fixtures');
		if (!existsSync(join(dir, 'tiny-mlc'))) return; // not generated here (npm run make-model)
		for (const [name, folder] of a) {
			expect(readdirSync(join(dir, name)).sort()).toEqual([...folder.keys()].sort());
			for (const [path, content] of folder) {
				const onDisk = readFileSync(join(dir, name, path));
				expect(
					sameContent(new Uint8Array(onDisk), content),
					`fixtures/${name}/${path} differs from the builder: run npm run make-model`
				).toBe(true);
			}
		}
	});
});
