import { beforeAll, describe, expect, it } from 'vitest';
import { attentionForward, ropeForward } from '../../src/lib/reference/ops';
import { seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { KvCache } from '../../src/lib/webgpu/gemma2/kv-cache';
import { AttentionKernel } from '../../src/lib/webgpu/kernels/attention';
import { RopeKernel } from '../../src/lib/webgpu/kernels/rope';
import { GpuMemory } from '../../src/lib/webgpu/memory';

let device: GPUDevice;

beforeAll(async () => {
	const adapter = await navigator.gpu.requestAdapter();
	if (!adapter) throw new Error('no WebGPU adapter');
	device = await adapter.requestDevice();
});

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function randomF32(n: number, seed: number): Float32Array {
	const rnd = seededRandom(seed);
	const a = new Float32Array(n);
	for (let i = 0; i < n; i++) a[i] = rnd() * 2 - 1;
	return a;
}

async function download(buf: GPUBuffer, n: number): Promise<Float32Array> {
	const read = device.createBuffer({
		size: n * 4,
		usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ
	});
	const enc = device.createCommandEncoder();
	enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
	device.queue.submit([enc.finish()]);
	await read.mapAsync(GPUMapMode.READ);
	const out = new Float32Array(read.getMappedRange().slice(0));
	read.destroy();
	return out;
}

const cfg = TINY_CONFIG; // 3 layers, 4 heads over 2 kv heads, hd 32, window 4, softcap 2
const row = cfg.numKvHeads * cfg.headDim;

describe('KvCache', () => {
	it('allocates k and v per layer through GpuMemory (purpose kv-cache) and frees them', () => {
		const memory = new GpuMemory(device);
		const cache = new KvCache(device, memory, cfg, 16);
		expect(cache.bytes()).toBe(2 * cfg.numLayers * 16 * row * 4);
		expect(memory.byPurpose()['kv-cache']).toBe(cache.bytes());
		expect(cache.k(0).size).toBe(16 * row * 4);
		cache.destroy();
		expect(memory.current).toBe(0);
	});

	it('appends rows at `length` of each layer; commit moves `length` once per forward', async () => {
		const memory = new GpuMemory(device);
		const cache = new KvCache(device, memory, cfg, 8);
		const a = randomF32(3 * row, 1),
			b = randomF32(2 * row, 2);
		const up = (d: Float32Array) => memory.allocWith('test', d, USAGE, 'scratch');
		let enc = device.createCommandEncoder();
		for (let L = 0; L < cfg.numLayers; L++)
			cache.encodeAppend(enc, L, up(a), up(a.map((x) => -x)), 3);
		device.queue.submit([enc.finish()]);
		cache.commit(3);
		enc = device.createCommandEncoder();
		cache.encodeAppend(enc, 1, up(b), up(b), 2);
		device.queue.submit([enc.finish()]);
		cache.commit(2);
		expect(cache.length).toBe(5);
		const k1 = await download(cache.k(1), 8 * row);
		const v1 = await download(cache.v(1), 8 * row);
		expect(Array.from(k1.subarray(0, 3 * row))).toEqual(Array.from(a));
		expect(Array.from(v1.subarray(0, 3 * row))).toEqual(Array.from(a.map((x) => -x)));
		expect(Array.from(k1.subarray(3 * row, 5 * row))).toEqual(Array.from(b));
		expect(Array.from(k1.subarray(5 * row))).toEqual(new Array(3 * row).fill(0));
		cache.reset();
		expect(cache.length).toBe(0);
		memory.freeAll();
	});

	it('throws a clear error when appending past maxTokens', () => {
		const memory = new GpuMemory(device);
		const cache = new KvCache(device, memory, cfg, 4);
		const k = memory.alloc('test', 4 * row * 4, USAGE, 'scratch');
		cache.commit(3);
		const enc = device.createCommandEncoder();
		expect(() => cache.encodeAppend(enc, 0, k, k, 2)).toThrow(/KV cache full.*maxTokens 4/);
		expect(() => cache.commit(2)).toThrow(/KV cache full/);
		expect(() => cache.encodeAppend(enc, 0, k, k, 1)).not.toThrow();
		memory.freeAll();
	});

	it('RoPE → append → attention over two prefill chunks and a decode step equals the reference', async () => {
		// The path forward.ts takes per layer, on a sliding layer (window 4 < 11 tokens).
		const memory = new GpuMemory(device);
		const cache = new KvCache(device, memory, cfg, 16);
		const rope = new RopeKernel(device);
		const attention = new AttentionKernel(device);
		const { numHeads: H, numKvHeads: KV, headDim: hd } = cfg;
		const total = 11;
		const q = randomF32(total * H * hd, 10),
			k = randomF32(total * KV * hd, 11),
			v = randomF32(total * KV * hd, 12);
		const scale = cfg.queryPreAttnScalar ** -0.5;

		const q64 = Float64Array.from(q),
			k64 = Float64Array.from(k);
		ropeForward(q64, total, H, hd, cfg.ropeTheta);
		ropeForward(k64, total, KV, hd, cfg.ropeTheta);
		const shape = {
			T: total,
			heads: H,
			kvHeads: KV,
			hd,
			scale,
			softcap: cfg.attnSoftcap,
			window: cfg.slidingWindow
		};
		const want = attentionForward(q64, k64, Float64Array.from(v), shape).a;

		const got = new Float32Array(total * H * hd);
		for (const [pos0, T] of [
			[0, 6],
			[6, 4],
			[10, 1]
		]) {
			const qb = memory.allocWith(
				'q',
				q.slice(pos0 * H * hd, (pos0 + T) * H * hd),
				USAGE,
				'scratch'
			);
			const kb = memory.allocWith('k', k.slice(pos0 * row, (pos0 + T) * row), USAGE, 'scratch');
			const vb = memory.allocWith('v', v.slice(pos0 * row, (pos0 + T) * row), USAGE, 'scratch');
			const out = memory.alloc('out', T * H * hd * 4, USAGE, 'scratch');
			const enc = device.createCommandEncoder();
			rope.encode(enc, qb, T, H, hd, cfg.ropeTheta, cache.length);
			rope.encode(enc, kb, T, KV, hd, cfg.ropeTheta, cache.length);
			cache.encodeAppend(enc, 0, kb, vb, T);
			attention.encode(
				enc,
				{ q: qb, k: cache.k(0), v: cache.v(0), out },
				{
					T,
					pos0: cache.length,
					heads: H,
					kvHeads: KV,
					hd,
					scale,
					softcap: cfg.attnSoftcap ?? 0,
					window: cfg.slidingWindow
				}
			);
			device.queue.submit([enc.finish()]);
			cache.commit(T);
			got.set(await download(out, T * H * hd), pos0 * H * hd);
		}
		let worst = 0;
		for (let i = 0; i < want.length; i++)
			worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
		expect(worst).toBeLessThan(1e-5);
		attention.destroy();
		rope.destroy();
		memory.freeAll();
	});

	it('f16 cache: half the bytes, rows stored within one f16 ulp, attention reads them exactly', async () => {
		const memory = new GpuMemory(device);
		const cache = new KvCache(device, memory, cfg, 16, { dtype: 'f16' });
		expect(cache.bytes()).toBe(cfg.numLayers * 16 * row * 2 * 2);
		expect(memory.byPurpose()['kv-cache']).toBe(cache.bytes());
		const attention = new AttentionKernel(device);
		const { numHeads: H, numKvHeads: KV, headDim: hd } = cfg;
		const total = 9;
		const q = randomF32(total * H * hd, 20);
		const k = randomF32(total * row, 21).map((x) => x * 30); // well inside f16 range
		const v = randomF32(total * row, 22);
		const scale = cfg.queryPreAttnScalar ** -0.5;
		const params = {
			heads: H,
			kvHeads: KV,
			hd,
			scale,
			softcap: 2,
			window: 4,
			cacheDtype: 'f16' as const
		};
		const got = new Float32Array(total * H * hd);
		for (const [pos0, T] of [
			[0, 8],
			[8, 1]
		]) {
			const kb = memory.allocWith('k', k.slice(pos0 * row, (pos0 + T) * row), USAGE, 'scratch');
			const vb = memory.allocWith('v', v.slice(pos0 * row, (pos0 + T) * row), USAGE, 'scratch');
			const qb = memory.allocWith(
				'q',
				q.slice(pos0 * H * hd, (pos0 + T) * H * hd),
				USAGE,
				'scratch'
			);
			const out = memory.alloc('out', T * H * hd * 4, USAGE, 'scratch');
			const enc = device.createCommandEncoder();
			cache.encodeAppend(enc, 2, kb, vb, T);
			attention.encode(enc, { q: qb, k: cache.k(2), v: cache.v(2), out }, { ...params, T, pos0 });
			device.queue.submit([enc.finish()]);
			cache.commit(T);
			got.set(await download(out, T * H * hd), pos0 * H * hd);
		}
		// What the cache holds, decoded on the CPU: within one f16 ulp of the f32 rows.
		const stored = async (buf: GPUBuffer) => {
			const words = new Uint32Array((await download(buf, (total * row) / 2)).buffer);
			const out = new Float32Array(total * row);
			for (let w = 0; w < words.length; w++) {
				out[2 * w] = f16ToF32(words[w] & 0xffff);
				out[2 * w + 1] = f16ToF32(words[w] >>> 16);
			}
			return out;
		};
		const k16 = await stored(cache.k(2));
		const v16 = await stored(cache.v(2));
		for (const [a, b] of [
			[k, k16],
			[v, v16]
		])
			for (let i = 0; i < a.length; i++)
				expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(Math.abs(a[i]) * 2 ** -10 + 2 ** -24);
		// Attention over the f16 rows = the f64 reference on exactly those values.
		const shape = { T: total, heads: H, kvHeads: KV, hd, scale, softcap: 2, window: 4 };
		const want = attentionForward(
			Float64Array.from(q),
			Float64Array.from(k16),
			Float64Array.from(v16),
			shape
		).a;
		let worst = 0;
		for (let i = 0; i < want.length; i++)
			worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
		expect(worst).toBeLessThan(1e-5);
		attention.destroy();
		cache.destroy();
		memory.freeAll();
	});
});

/** IEEE binary16 bits → number. */
function f16ToF32(h: number): number {
	const sign = h & 0x8000 ? -1 : 1;
	const e = (h >> 10) & 31;
	const m = h & 1023;
	if (e === 0) return sign * m * 2 ** -24;
	if (e === 31) return m ? NaN : sign * Infinity;
	return sign * (1 + m / 1024) * 2 ** (e - 15);
}
