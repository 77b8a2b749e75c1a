/**
 * Exports out of the studio: an adapter trained by the engine (`engine -- train` on the tiny model)
 * becomes a GGUF LoRA with `engine -- export-gguf`, read back by the independent @huggingface/gguf
 * reader (the page's GGUF and README exports: adapters.spec.ts).
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf, GGMLQuantizationType } from '@huggingface/gguf';
import { ggufBaseTensorName, readPeftFilesForGguf } from '../../src/lib/export/gguf-lora';

const tmp = mkdtempSync(join(tmpdir(), 'export-e2e-'));
const cli = (args: string[]) =>
	execFileSync('node_modules/.bin/tsx', ['scripts/engine-cli.ts', ...args], {
		stdio: ['ignore', 'ignore', 'pipe'],
		timeout: 340_000 // a guard: two spec files run at once on CI's two cores
	});
const files = (dir: string) =>
	new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));

test('an adapter trained by the engine exports to a GGUF LoRA that @huggingface/gguf reads', async () => {
	test.setTimeout(400_000);
	const data = join(tmp, 'train.jsonl');
	const ids = [2, 106, 300, 301, 107, 108, 106, 400, 401, 402, 107];
	writeFileSync(
		data,
		JSON.stringify({ input_ids: ids, labels: ids.map((t, i) => (i > 6 ? t : -100)) }) + '\n'
	);
	const config = join(tmp, 'train.json');
	// rsLoRA + a rank pattern: the export must fold PEFT's scale into lora_b
	writeFileSync(
		config,
		JSON.stringify({
			learning_rate: 1e-2,
			max_steps: 2,
			per_device_train_batch_size: 1,
			r: 4,
			lora_alpha: 8,
			use_rslora: true,
			target_modules: ['q_proj', 'o_proj', 'up_proj'],
			rank_pattern: { 'layers\\.1\\.mlp\\.up_proj': 2 },
			shuffle: false
		})
	);
	const trained = join(tmp, 'tiny-socrates');
	cli([
		'train',
		'--model',
		'fixtures/tiny-hf',
		'--data',
		data,
		'--config',
		config,
		'--out',
		trained
	]);
	expect(readdirSync(trained)).toContain('README.md'); // every exported folder says what it is
	const out = join(tmp, 'gguf', 'tiny-socrates.gguf');
	cli(['export-gguf', '--adapter', trained, '--out', out, '--dtype', 'f32']);
	expect(readdirSync(join(tmp, 'gguf')).sort()).toEqual([
		'Modelfile',
		'README.md',
		'tiny-socrates.gguf'
	]);

	const adapter = readPeftFilesForGguf(files(trained));
	expect(adapter.modules.size).toBe(9);
	const bytes = new Uint8Array(readFileSync(out));
	const parsed = await gguf(out, { allowLocalFile: true });
	const md = parsed.metadata as Record<string, unknown>;
	expect(md['general.architecture']).toBe('gemma2');
	expect(md['general.type']).toBe('adapter');
	expect(md['adapter.type']).toBe('lora');
	expect(md['adapter.lora.alpha']).toBe(8);
	const at = (name: string, n: number) => {
		const t = parsed.tensorInfos.find((x) => x.name === name)!;
		expect(t.dtype).toBe(GGMLQuantizationType.F32);
		const start = Number(parsed.tensorDataOffset + t.offset);
		return new Float32Array(bytes.slice(start, start + 4 * n).buffer);
	};
	for (const m of adapter.modules.values()) {
		const base = ggufBaseTensorName(m.layer, m.proj);
		const A = at(`${base}.lora_a`, m.r * m.in);
		const B = at(`${base}.lora_b`, m.out * m.r);
		expect(A).toEqual(m.A);
		// llama.cpp scales by alpha / r; PEFT by alpha / √r (rsLoRA): B carries √r
		const llama = 8 / m.r;
		B.forEach((v, i) =>
			expect(Math.abs(llama * v - m.scale * m.B[i])).toBeLessThanOrEqual(
				1e-6 * Math.abs(m.B[i]) + 1e-12
			)
		);
	}
});
