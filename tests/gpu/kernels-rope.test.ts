import { beforeAll, describe, expect, it } from 'vitest';
import { ropeForward } from '../../src/lib/reference/ops';
import { ropeBackward } from '../../src/lib/reference/ops-backward';
import { seededRandom } from '../../src/lib/reference/random-model';
import { RopeKernel, ropeInvFreq } from '../../src/lib/webgpu/kernels/rope';

let device: GPUDevice;

beforeAll(async () => {
	const adapter = await navigator.gpu.requestAdapter();
	if (!adapter) throw new Error('no WebGPU adapter');
	device = await adapter.requestDevice();
});

function randomF32(n: number, seed: number): Float32Array {
	const rnd = seededRandom(seed);
	const a = new Float32Array(n);
	for (let i = 0; i < n; i++) a[i] = rnd() * 2 - 1;
	return a;
}

function upload(data: Float32Array): GPUBuffer {
	const buf = device.createBuffer({
		size: data.byteLength,
		usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST
	});
	device.queue.writeBuffer(buf, 0, data);
	return buf;
}

async function download(buf: GPUBuffer): Promise<Float32Array> {
	const read = device.createBuffer({
		size: buf.size,
		usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ
	});
	const enc = device.createCommandEncoder();
	enc.copyBufferToBuffer(buf, 0, read, 0, buf.size);
	device.queue.submit([enc.finish()]);
	await read.mapAsync(GPUMapMode.READ);
	const out = new Float32Array(read.getMappedRange().slice(0));
	read.destroy();
	return out;
}

async function runRope(
	x: Float32Array,
	T: number,
	heads: number,
	hd: number,
	theta: number,
	pos0: number,
	backward = false
) {
	const kernel = new RopeKernel(device);
	const buf = upload(x);
	const enc = device.createCommandEncoder();
	if (backward) kernel.encodeBackward(enc, buf, T, heads, hd, theta, pos0);
	else kernel.encode(enc, buf, T, heads, hd, theta, pos0);
	device.queue.submit([enc.finish()]);
	const out = await download(buf);
	buf.destroy();
	kernel.destroy();
	return out;
}

function maxErr(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): number {
	// Largest |got − want| / (1 + |want|·rtol/atol-style scale): returned as the raw worst excess.
	let worst = 0;
	for (let i = 0; i < want.length; i++) {
		const e = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]) * rtol);
		if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
	}
	return worst;
}

/** f16 pairs packed in u32 words → f32 values. */
function unpackF16(words: Uint32Array): Float32Array {
	const out = new Float32Array(words.length * 2);
	const half = (b: number) => {
		const e = (b >> 10) & 31,
			m = b & 1023,
			sign = b & 0x8000 ? -1 : 1;
		if (e === 0) return sign * m * 2 ** -24;
		return sign * (1 + m / 1024) * 2 ** (e - 15);
	};
	words.forEach((w, i) => {
		out[2 * i] = half(w & 0xffff);
		out[2 * i + 1] = half(w >>> 16);
	});
	return out;
}

describe('rope_kv: RoPE of q and k plus the KV append, one dispatch', () => {
	for (const cacheDtype of ['f32', 'f16'] as const) {
		it(`q rotated, k rotated and v copied into cache rows pos0.. (${cacheDtype} cache, GQA, hd 16)`, async () => {
			const T = 3,
				H = 4,
				KV = 2,
				hd = 16,
				pos0 = 5,
				maxTokens = 10,
				theta = 10000;
			const ld = (H + 2 * KV) * hd;
			const qkv = randomF32(T * ld, 9);
			const part = (col: number, heads: number) => {
				const out = new Float64Array(T * heads * hd);
				for (let t = 0; t < T; t++)
					for (let i = 0; i < heads * hd; i++) out[t * heads * hd + i] = qkv[t * ld + col + i];
				return out;
			};
			const q = part(0, H),
				k = part(H * hd, KV),
				v = part((H + KV) * hd, KV);
			ropeForward(q, T, H, hd, theta, pos0);
			ropeForward(k, T, KV, hd, theta, pos0);
			const cacheBytes = maxTokens * KV * hd * (cacheDtype === 'f16' ? 2 : 4);
			const kernel = new RopeKernel(device);
			const qb = upload(new Float32Array(T * H * hd));
			const kc = upload(new Float32Array(cacheBytes / 4));
			const vc = upload(new Float32Array(cacheBytes / 4));
			const enc = device.createCommandEncoder();
			kernel.encodeKv(
				enc,
				{ qkv: upload(qkv), q: qb, kCache: kc, vCache: vc },
				{ T, heads: H, kvHeads: KV, hd, theta, pos0, cacheDtype }
			);
			device.queue.submit([enc.finish()]);
			expect(maxErr(await download(qb), q, 1)).toBeLessThan(2e-6);
			const rows = async (buf: GPUBuffer) => {
				const raw = await download(buf);
				const all = cacheDtype === 'f16' ? unpackF16(new Uint32Array(raw.buffer)) : raw;
				return all.subarray(pos0 * KV * hd, (pos0 + T) * KV * hd);
			};
			// f16: the stored values keep 11 significant bits
			const tol = cacheDtype === 'f16' ? 2 ** -11 : 2e-6;
			expect(maxErr(await rows(kc), k, 1)).toBeLessThan(tol);
			expect(maxErr(await rows(vc), v, 1)).toBeLessThan(tol);
			kernel.destroy();
		});
	}
});

describe('RoPE kernel', () => {
	it('matches the float64 reference from position 0 (GQA-sized q: 4 heads, hd 32)', async () => {
		const T = 7,
			heads = 4,
			hd = 32;
		const x = randomF32(T * heads * hd, 1);
		const want = Float64Array.from(x);
		ropeForward(want, T, heads, hd, 10000, 0);
		expect(maxErr(await runRope(x, T, heads, hd, 10000, 0), want, 1)).toBeLessThan(2e-6);
	});

	it('continues from pos0 > 0 (a later prefill chunk or decode step)', async () => {
		const T = 5,
			heads = 2,
			hd = 16;
		const x = randomF32(T * heads * hd, 2);
		const want = Float64Array.from(x);
		ropeForward(want, T, heads, hd, 10000, 37);
		expect(maxErr(await runRope(x, T, heads, hd, 10000, 37), want, 1)).toBeLessThan(2e-6);
	});

	it('handles head_dim 256 and another theta', async () => {
		const T = 3,
			heads = 1,
			hd = 256;
		const x = randomF32(T * heads * hd, 3);
		const want = Float64Array.from(x);
		ropeForward(want, T, heads, hd, 500, 11);
		expect(maxErr(await runRope(x, T, heads, hd, 500, 11), want, 1)).toBeLessThan(2e-6);
	});

	it('stays accurate at positions near 8192: cos/sin of HF’s f32 angle pos·inv_freq', async () => {
		// HF in float32 rotates by cos/sin of fround(pos · inv_freq); expect that to ~1e-6, which
		// the GPU's native sin/cos of angles up to 8192 rad would not give.
		const T = 4,
			heads = 1,
			hd = 32,
			pos0 = 8188,
			theta = 10000;
		const x = randomF32(T * heads * hd, 4);
		const inv = ropeInvFreq(theta, hd);
		const want = Float64Array.from(x);
		const half = hd / 2;
		for (let t = 0; t < T; t++)
			for (let k = 0; k < half; k++) {
				const ang = Math.fround((pos0 + t) * inv[k]);
				const c = Math.cos(ang),
					s = Math.sin(ang);
				const x1 = x[t * hd + k],
					x2 = x[t * hd + k + half];
				want[t * hd + k] = x1 * c - x2 * s;
				want[t * hd + k + half] = x2 * c + x1 * s;
			}
		expect(maxErr(await runRope(x, T, heads, hd, theta, pos0), want, 1)).toBeLessThan(2e-6);
	});

	it('backward applies the transpose: dx = dy·cos + Rᵀ(dy·sin) (vs ropeBackward)', async () => {
		const T = 3,
			heads = 2,
			hd = 16,
			pos0 = 5;
		const dy = randomF32(T * heads * hd, 5);
		const want = Float64Array.from(dy);
		ropeBackward(want, T, heads, hd, 10000, pos0);
		expect(maxErr(await runRope(dy, T, heads, hd, 10000, pos0, true), want, 1)).toBeLessThan(2e-6);
	});
});
