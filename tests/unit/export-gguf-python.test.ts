/**
 * The GGUF LoRA export against the Python reference, when one is installed (CI has none: these
 * tests are skipped there, and say why):
 * 1. gguf-py's GGUFReader reads our file: keys, value types, tensor names, shapes, types, values.
 *    Needs `MONDO_PYTHON` (default `python3`) with `import gguf` working (`pip install gguf numpy`).
 * 2. llama.cpp's own convert_lora_to_gguf.py converts the same PEFT folder (base config:
 *    fixtures/tiny-hf) and the files are compared byte for byte. Needs also torch + transformers in
 *    that Python and `MONDO_LLAMA_CPP` = a llama.cpp checkout (convert_lora_to_gguf.py, gguf-py).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS, type LoraConfig } from '../../src/lib/lora/config';
import { exportPeftFiles } from '../../src/lib/lora/peft';
import { seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import {
	ggufBFactor,
	ggufBaseTensorName,
	ggufLoraFile,
	readPeftFilesForGguf,
	type GgufDtype
} from '../../src/lib/export/gguf-lora';

const PYTHON = process.env.MONDO_PYTHON || 'python3';
const LLAMA_CPP = process.env.MONDO_LLAMA_CPP;

function pythonCan(code: string): boolean {
	const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', timeout: 120_000 });
	return r.status === 0;
}
const hasGguf = pythonCan('import gguf, numpy');
const ggufSkip = hasGguf
	? ''
	: ` (skipped: ${PYTHON} cannot import gguf; set MONDO_PYTHON to a Python with \`pip install gguf numpy\`)`;
const converterMissing = !hasGguf
	? 'no gguf in that Python'
	: !LLAMA_CPP
		? 'MONDO_LLAMA_CPP (a llama.cpp checkout) is not set'
		: !existsSync(join(LLAMA_CPP, 'convert_lora_to_gguf.py'))
			? `no convert_lora_to_gguf.py in ${LLAMA_CPP}`
			: !pythonCan('import torch, transformers, safetensors')
				? `${PYTHON} cannot import torch, transformers and safetensors`
				: '';
const converterSkip = converterMissing ? ` (skipped: ${converterMissing})` : '';

const dir = mkdtempSync(join(tmpdir(), 'gguf-py-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trained(lc: LoraConfig, seed = 3): LoraAdapter {
	const a = createLoraAdapter(TINY_CONFIG, lc, seed);
	const r = seededRandom(seed + 100);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround(r() - 0.5);
	return a;
}

/** Writes the adapter's PEFT folder `name` and returns it with the adapter as the export reads it. */
function peftFolder(name: string, lc: LoraConfig) {
	const folder = join(dir, name);
	mkdirSync(folder, { recursive: true });
	const files = exportPeftFiles(TINY_CONFIG, trained(lc), {
		baseModel: 'google/gemma-2-2b-jpn-it'
	});
	for (const [f, data] of Object.entries(files)) writeFileSync(join(folder, f), data);
	return { folder, adapter: readPeftFilesForGguf(new Map(Object.entries(files))) };
}

const PLAIN: LoraConfig = {
	...LORA_DEFAULTS,
	r: 4,
	lora_alpha: 8,
	target_modules: [...ALL_PROJECTIONS]
};
const PATTERNED: LoraConfig = {
	...PLAIN,
	use_rslora: true,
	rank_pattern: { 'layers\\.1\\.mlp\\.up_proj': 2 },
	alpha_pattern: { 'layers\\.2\\.self_attn\\.q_proj': 3 }
};

const READER = `
import json, sys, gguf
r = gguf.GGUFReader(sys.argv[1])
fields = []
for k, f in r.fields.items():
    if k.startswith('GGUF.'): continue
    fields.append([k, [int(t) for t in f.types], f.contents()])
tensors = [{'name': t.name, 'shape': [int(x) for x in t.shape], 'type': t.tensor_type.name,
            'values': [float(x) for x in t.data.astype('float64').reshape(-1)]} for t in r.tensors]
print(json.dumps({'fields': fields, 'tensors': tensors, 'alignment': r.alignment}))
`;

describe('gguf-py GGUFReader reads our file', () => {
	for (const dtype of ['f32', 'f16'] as GgufDtype[])
		it.skipIf(!hasGguf)(
			`${dtype}: keys, types, names, shapes, values${ggufSkip}`,
			() => {
				const { adapter } = peftFolder(`plain-${dtype}`, PATTERNED);
				const path = join(dir, `ours-${dtype}.gguf`);
				writeFileSync(path, ggufLoraFile(adapter, { dtype, folderName: 'gemma-2-2b-socrates-v2' }));
				const r = spawnSync(PYTHON, ['-c', READER, path], {
					encoding: 'utf8',
					maxBuffer: 1 << 28
				});
				expect(r.stderr).toBe('');
				const got = JSON.parse(r.stdout) as {
					fields: [string, number[], unknown][];
					tensors: { name: string; shape: number[]; type: string; values: number[] }[];
					alignment: number;
				};
				const STRING = 8;
				expect(got.alignment).toBe(32);
				expect(got.fields).toEqual([
					['general.architecture', [STRING], 'gemma2'],
					['general.type', [STRING], 'adapter'],
					['adapter.type', [STRING], 'lora'],
					['general.name', [STRING], 'Gemma 2 2b Socrates v2'],
					['general.version', [STRING], 'v2'],
					['general.finetune', [STRING], 'socrates'],
					['general.basename', [STRING], 'gemma-2'],
					['general.size_label', [STRING], '2B'],
					['adapter.lora.alpha', [6], 8],
					['general.quantization_version', [4], 2]
				]);
				const mods = [...adapter.modules.values()];
				expect(got.tensors.map((t) => t.name)).toEqual(
					mods.flatMap((m) => {
						const b = ggufBaseTensorName(m.layer, m.proj);
						return [`${b}.lora_a`, `${b}.lora_b`];
					})
				);
				mods.forEach((m, i) => {
					const [a, b] = [got.tensors[2 * i], got.tensors[2 * i + 1]];
					expect([a.shape, b.shape, a.type, b.type]).toEqual([
						[m.in, m.r],
						[m.r, m.out],
						dtype.toUpperCase(),
						dtype.toUpperCase()
					]);
					const k = ggufBFactor(m, adapter.config.lora_alpha);
					const tol = (v: number) => (dtype === 'f32' ? 0 : Math.abs(v) * 2 ** -11 + 2 ** -25);
					a.values.forEach((v, j) => expect(Math.abs(v - m.A[j])).toBeLessThanOrEqual(tol(m.A[j])));
					b.values.forEach((v, j) => {
						const want = Math.fround(m.B[j] * k);
						expect(Math.abs(v - want)).toBeLessThanOrEqual(tol(want));
					});
				});
			},
			120_000
		);
});

describe("llama.cpp's convert_lora_to_gguf.py on the same PEFT folder", () => {
	const convert = (folder: string, dtype: GgufDtype, out: string) => {
		const r = spawnSync(
			PYTHON,
			[
				join(LLAMA_CPP!, 'convert_lora_to_gguf.py'),
				'--base',
				resolve('fixtures/tiny-hf'),
				'--outtype',
				dtype,
				'--outfile',
				out,
				folder
			],
			{ encoding: 'utf8', cwd: LLAMA_CPP, timeout: 300_000 }
		);
		expect(r.status, r.stderr.slice(-2000)).toBe(0);
		return new Uint8Array(readFileSync(out));
	};
	for (const dtype of ['f32', 'f16'] as GgufDtype[])
		it.skipIf(!!converterMissing)(
			`${dtype}: a plain adapter is byte for byte the converter's${converterSkip}`,
			() => {
				const { folder, adapter } = peftFolder('gemma-2-2b-socrates-v2', PLAIN);
				const theirs = convert(folder, dtype, join(dir, `ref-${dtype}.gguf`));
				const ours = ggufLoraFile(adapter, { dtype, folderName: 'gemma-2-2b-socrates-v2' });
				expect(ours.length).toBe(theirs.length);
				expect(Buffer.compare(Buffer.from(ours), Buffer.from(theirs))).toBe(0);
			},
			300_000
		);
	it.skipIf(!!converterMissing)(
		`rsLoRA + patterns: only values of the folded lora_b differ${converterSkip}`,
		() => {
			const { folder, adapter } = peftFolder('patterned', PATTERNED);
			const theirs = convert(folder, 'f32', join(dir, 'ref-patterned.gguf'));
			const ours = ggufLoraFile(adapter, { dtype: 'f32', folderName: 'patterned' });
			expect(ours.length).toBe(theirs.length);
			const view = (b: Uint8Array) => new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
			// same header and layout; in the data, our lora_b = theirs · k
			const o = view(ours);
			const t = view(theirs);
			let differing = 0;
			for (let i = 0; i < o.length; i++) if (o[i] !== t[i]) differing++;
			const folded = [...adapter.modules.values()].filter(
				(m) => ggufBFactor(m, adapter.config.lora_alpha) !== 1
			);
			expect(folded.length).toBeGreaterThan(0);
			expect(differing).toBeGreaterThan(0);
			expect(differing).toBeLessThanOrEqual(folded.reduce((s, m) => s + m.out * m.r, 0));
		},
		300_000
	);
});
