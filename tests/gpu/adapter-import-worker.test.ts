/**
 * Issue 12 · an adapter import's safetensors parse and value checks run in a worker, not on the
 * page's main thread: the page gets the same tensors as an in-thread read (moved, not copied), and
 * a refused adapter's error crosses with its name and message (naming the file and tensor).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles, exportPeftZip } from '../../src/lib/lora/peft';
import { readPickedAdapter, readPickedAdapterOffThread } from '../../src/lib/lora/peft-import';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

const adapter = createLoraAdapter(
	TINY_CONFIG,
	{ ...LORA_DEFAULTS, target_modules: [...ALL_PROJECTIONS], r: 2, lora_alpha: 4 },
	7
);
for (const m of adapter.modules.values()) m.B.forEach((_, i) => (m.B[i] = Math.sin(i + 1)));
const opts = { baseModel: 'test-org/tiny-gemma2' };

/** Counts the workers started, so the test knows the work left the main thread. */
const RealWorker = globalThis.Worker;
let started: string[] = [];
globalThis.Worker = class extends RealWorker {
	constructor(url: string | URL, o?: WorkerOptions) {
		super(url, o);
		started.push(String(url));
	}
};
afterEach(() => (started = []));

describe('adapter import off the main thread', () => {
	it('a zip: the worker returns the same tensors as an in-thread read', async () => {
		const zip = new File(
			[exportPeftZip(TINY_CONFIG, adapter, opts) as Uint8Array<ArrayBuffer>],
			'socratic.zip'
		);
		// the page hands in its model's config as reactive state: a Proxy structured clone refuses
		const proxied = new Proxy(structuredClone(TINY_CONFIG), {});
		const off = await readPickedAdapterOffThread(proxied, [zip]);
		expect(started).toHaveLength(1);
		expect(started[0]).toMatch(/peft-import\.worker/);
		const here = await readPickedAdapter(TINY_CONFIG, [zip]);
		expect(off.name).toBe('socratic');
		expect(off.imported.baseModel).toBe('test-org/tiny-gemma2');
		expect([...off.imported.adapter.modules.keys()]).toEqual([
			...here.imported.adapter.modules.keys()
		]);
		for (const [k, m] of here.imported.adapter.modules) {
			const w = off.imported.adapter.modules.get(k)!;
			expect(w.A).toBeInstanceOf(Float32Array);
			expect([...w.A]).toEqual([...m.A]);
			expect([...w.B]).toEqual([...m.B]);
			expect(w.alpha).toBe(m.alpha);
		}
	});

	it('a folder of files, and a refused one: the error names the tensor and element', async () => {
		const files = exportPeftFiles(TINY_CONFIG, adapter, opts);
		const pick = (weights: Uint8Array) =>
			Object.entries({ ...files, 'adapter_model.safetensors': weights }).map(
				([name, bytes]) => new File([bytes as Uint8Array<ArrayBuffer>], name)
			);
		const ok = await readPickedAdapterOffThread(
			TINY_CONFIG,
			pick(files['adapter_model.safetensors'])
		);
		expect(ok.imported.adapter.modules.size).toBe(adapter.modules.size);

		// a NaN in the last tensor's data (the payload ends the file)
		const poisoned = files['adapter_model.safetensors'].slice();
		new DataView(poisoned.buffer).setFloat32(poisoned.length - 4, NaN, true);
		const e = await readPickedAdapterOffThread(TINY_CONFIG, pick(poisoned)).catch((x: Error) => x);
		expect(started).toHaveLength(2);
		expect(e).toBeInstanceOf(Error);
		expect((e as Error).name).toBe('PeftFormatError');
		expect((e as Error).message).toMatch(/adapter_model\.safetensors.*NaN|NaN.*adapter_model/);
	});
});
