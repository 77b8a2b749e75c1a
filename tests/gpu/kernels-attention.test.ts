import { beforeAll, describe, expect, it } from 'vitest';
import { attentionForward, type AttentionShape } from '../../src/lib/reference/ops';
import { seededRandom } from '../../src/lib/reference/random-model';
import {
	AttentionKernel,
	attentionF16Bound,
	type AttentionOptions,
	type AttentionParams
} from '../../src/lib/webgpu/kernels/attention';

let device: GPUDevice;

beforeAll(async () => {
	const adapter = await navigator.gpu.requestAdapter();
	if (!adapter) throw new Error('no WebGPU adapter');
	device = await adapter.requestDevice();
});

function randomF32(n: number, seed: number, amp = 1): Float32Array {
	const rnd = seededRandom(seed);
	const a = new Float32Array(n);
	for (let i = 0; i < n; i++) a[i] = (rnd() * 2 - 1) * amp;
	return a;
}

function upload(data: Float32Array): GPUBuffer {
	const buf = device.createBuffer({
		size: Math.max(16, data.byteLength),
		usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST
	});
	device.queue.writeBuffer(buf, 0, data);
	return buf;
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

/** A problem: full q/k/v for positions 0 .. total − 1, as f32 values. */
interface Problem {
	total: number;
	heads: number;
	kvHeads: number;
	hd: number;
	scale: number;
	softcap: number;
	window: number;
	q: Float32Array; // [total, H, hd]
	k: Float32Array; // [total, KV, hd]
	v: Float32Array;
}

function makeProblem(o: Omit<Problem, 'q' | 'k' | 'v'>, seed: number, qAmp = 1): Problem {
	return {
		...o,
		q: randomF32(o.total * o.heads * o.hd, seed, qAmp),
		k: randomF32(o.total * o.kvHeads * o.hd, seed + 1),
		v: randomF32(o.total * o.kvHeads * o.hd, seed + 2)
	};
}

/** The float64 oracle on all `total` positions: a [total, H·hd]. */
function reference(pr: Problem, window = pr.window): Float64Array {
	const sh: AttentionShape = {
		T: pr.total,
		heads: pr.heads,
		kvHeads: pr.kvHeads,
		hd: pr.hd,
		scale: pr.scale,
		softcap: pr.softcap > 0 ? pr.softcap : null,
		window: window > 0 ? window : null
	};
	return attentionForward(
		Float64Array.from(pr.q),
		Float64Array.from(pr.k),
		Float64Array.from(pr.v),
		sh
	).a;
}

/**
 * Run queries pos0 .. pos0 + T − 1 against a cache of `maxTokens` rows that holds keys
 * 0 .. pos0 + T − 1 and NaN after them (proving rows past the valid length are never read).
 */
async function runChunk(
	pr: Problem,
	pos0: number,
	T: number,
	options: AttentionOptions = {},
	dev = device
) {
	const { heads: H, kvHeads: KV, hd } = pr;
	const maxTokens = pr.total + 8;
	const kCache = new Float32Array(maxTokens * KV * hd).fill(NaN);
	const vCache = new Float32Array(maxTokens * KV * hd).fill(NaN);
	kCache.set(pr.k.subarray(0, (pos0 + T) * KV * hd));
	vCache.set(pr.v.subarray(0, (pos0 + T) * KV * hd));
	const up = (d: Float32Array) => {
		const b = dev.createBuffer({
			size: Math.max(16, d.byteLength),
			usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST
		});
		dev.queue.writeBuffer(b, 0, d);
		return b;
	};
	const q = up(pr.q.slice(pos0 * H * hd, (pos0 + T) * H * hd));
	const k = up(kCache);
	const v = up(vCache);
	const out = up(new Float32Array(T * H * hd).fill(NaN));
	const kernel = new AttentionKernel(dev, options);
	const params: AttentionParams = {
		T,
		pos0,
		heads: H,
		kvHeads: KV,
		hd,
		scale: pr.scale,
		softcap: pr.softcap,
		window: pr.window
	};
	const enc = dev.createCommandEncoder();
	kernel.encode(enc, { q, k, v, out }, params);
	dev.queue.submit([enc.finish()]);
	const read = dev.createBuffer({
		size: out.size,
		usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ
	});
	const enc2 = dev.createCommandEncoder();
	enc2.copyBufferToBuffer(out, 0, read, 0, out.size);
	dev.queue.submit([enc2.finish()]);
	await read.mapAsync(GPUMapMode.READ);
	const result = new Float32Array(read.getMappedRange().slice(0, T * H * hd * 4));
	for (const b of [q, k, v, out, read]) b.destroy();
	kernel.destroy();
	return result;
}

/** Worst |got − want| − (ATOL + RTOL·|want|); ≤ 0 means within tolerance. NaN counts as a failure. */
const ATOL = 1e-5;
const RTOL = 1e-5;
function excess(got: ArrayLike<number>, want: ArrayLike<number>, offset = 0): number {
	let worst = -Infinity;
	for (let i = 0; i < got.length; i++) {
		const w = want[offset + i];
		const e = Math.abs(got[i] - w) - (ATOL + RTOL * Math.abs(w));
		worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
	}
	return worst;
}

const NO_SPLIT: AttentionOptions = { targetWorkgroups: 1 };

describe('attention kernel vs the float64 reference', () => {
	const base = { heads: 4, kvHeads: 2, hd: 32, scale: 24 ** -0.5, softcap: 0, window: 0 };

	it('GQA: 4 query heads over 2 kv heads read kv head floor(h / 2) (causal, one pass)', async () => {
		const pr = makeProblem({ ...base, total: 9 }, 10);
		const want = reference(pr);
		expect(excess(await runChunk(pr, 0, 9, NO_SPLIT), want)).toBeLessThanOrEqual(0);
	});

	it('causal only, key range split over workgroups then merged, equals one pass', async () => {
		const pr = makeProblem({ ...base, total: 21 }, 20);
		const want = reference(pr);
		expect(excess(await runChunk(pr, 0, 21), want)).toBeLessThanOrEqual(0);
		expect(excess(await runChunk(pr, 0, 21, NO_SPLIT), want)).toBeLessThanOrEqual(0);
	});

	it('softcap is applied before the mask, and reached (cap 2.0, scores far beyond it)', async () => {
		const pr = makeProblem({ ...base, total: 10, softcap: 2.0 }, 30, 8);
		// Raw scores must actually exceed the cap for the test to mean anything.
		let maxScore = 0;
		for (let i = 0; i < pr.total; i++)
			for (let h = 0; h < pr.heads; h++)
				for (let j = 0; j <= i; j++) {
					let dot = 0;
					for (let c = 0; c < pr.hd; c++)
						dot +=
							pr.q[(i * pr.heads + h) * pr.hd + c] * pr.k[(j * pr.kvHeads + (h >> 1)) * pr.hd + c];
					maxScore = Math.max(maxScore, Math.abs(dot * pr.scale));
				}
		expect(maxScore).toBeGreaterThan(3 * pr.softcap);
		const want = reference(pr);
		const uncapped = reference({ ...pr, softcap: 0 });
		let diff = 0;
		for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i] - uncapped[i]));
		expect(diff).toBeGreaterThan(0.05);
		expect(excess(await runChunk(pr, 0, 10), want)).toBeLessThanOrEqual(0);
		expect(excess(await runChunk(pr, 0, 10, NO_SPLIT), want)).toBeLessThanOrEqual(0);
	});

	it('sliding window shorter than the sequence: sees at most `window` keys, itself included', async () => {
		const pr = makeProblem({ ...base, total: 14, window: 4, softcap: 2.0 }, 40, 3);
		const want = reference(pr);
		expect(excess(await runChunk(pr, 0, 14), want)).toBeLessThanOrEqual(0);
		expect(excess(await runChunk(pr, 0, 14, NO_SPLIT), want)).toBeLessThanOrEqual(0);
	});

	it('sliding window excludes the key exactly `window` positions back', async () => {
		// Make the boundary key j = i − window unmistakable for the last query: a huge score and
		// a v row of 100s. If the kernel let it in (an off-by-one window of W + 1), the output of
		// that query would jump towards 100.
		const W = 3;
		const pr = makeProblem({ ...base, total: 8, window: W }, 50);
		const i = pr.total - 1;
		const j = i - W;
		for (let kvh = 0; kvh < pr.kvHeads; kvh++)
			for (let c = 0; c < pr.hd; c++) {
				pr.k[(j * pr.kvHeads + kvh) * pr.hd + c] = pr.q[(i * pr.heads + 2 * kvh) * pr.hd + c] * 4;
				pr.v[(j * pr.kvHeads + kvh) * pr.hd + c] = 100;
			}
		const want = reference(pr);
		const wider = reference(pr, W + 1);
		const row = pr.heads * pr.hd;
		const got = await runChunk(pr, 0, pr.total);
		expect(excess(got, want)).toBeLessThanOrEqual(0);
		// The reference with W + 1 sees key j: confirm the case would have caught an off-by-one.
		expect(Math.abs(wider[i * row] - want[i * row])).toBeGreaterThan(1);
		// The key exactly W − 1 back is still visible (the window is not W − 1 either).
		const narrower = reference(pr, W - 1);
		let diff = 0;
		for (let c = 0; c < row; c++)
			diff = Math.max(diff, Math.abs(narrower[i * row + c] - got[i * row + c]));
		expect(diff).toBeGreaterThan(1e-3);
	});

	it('prefill in two chunks (pos0 > 0 for the second) equals one full prefill', async () => {
		const pr = makeProblem({ ...base, total: 13, window: 5, softcap: 2.0 }, 60, 3);
		const want = reference(pr);
		const row = pr.heads * pr.hd;
		const first = await runChunk(pr, 0, 6);
		const second = await runChunk(pr, 6, 7);
		expect(excess(first, want, 0)).toBeLessThanOrEqual(0);
		expect(excess(second, want, 6 * row)).toBeLessThanOrEqual(0);
		const secondOnePass = await runChunk(pr, 6, 7, NO_SPLIT);
		expect(excess(secondOnePass, want, 6 * row)).toBeLessThanOrEqual(0);
	});

	it('decode (T = 1) after a cached prefix equals the last row of the full computation', async () => {
		for (const window of [0, 16]) {
			const pr = makeProblem({ ...base, total: 57, window, softcap: 2.0 }, 70 + window, 3);
			const want = reference(pr);
			const row = pr.heads * pr.hd;
			const last = (pr.total - 1) * row;
			expect(excess(await runChunk(pr, pr.total - 1, 1), want, last)).toBeLessThanOrEqual(0);
			expect(excess(await runChunk(pr, pr.total - 1, 1, NO_SPLIT), want, last)).toBeLessThanOrEqual(
				0
			);
		}
	});

	it('head_dim 256 (Gemma-2 2B), GQA 2 over 1, with softcap 50 and window', async () => {
		const pr = makeProblem(
			{ total: 6, heads: 2, kvHeads: 1, hd: 256, scale: 224 ** -0.5, softcap: 50, window: 4 },
			80,
			2
		);
		const want = reference(pr);
		expect(excess(await runChunk(pr, 0, 4), want)).toBeLessThanOrEqual(0);
		expect(excess(await runChunk(pr, 4, 2), want, 4 * 2 * 256)).toBeLessThanOrEqual(0);
	});

	it('the large tiles (32 KiB of workgroup memory) give the same results', async () => {
		const adapter = await navigator.gpu.requestAdapter();
		const limit = adapter!.limits.maxComputeWorkgroupStorageSize;
		if (limit < 32768) return; // the device cannot run them; the small tiles are tested above
		const big = await adapter!.requestDevice({
			requiredLimits: { maxComputeWorkgroupStorageSize: 32768 }
		});
		expect(new AttentionKernel(big).keyBlock).toBe(16);
		const pr = makeProblem({ ...base, total: 37, window: 7, softcap: 2.0 }, 90, 3);
		const want = reference(pr);
		const row = pr.heads * pr.hd;
		expect(excess(await runChunk(pr, 0, 20, {}, big), want)).toBeLessThanOrEqual(0);
		expect(excess(await runChunk(pr, 20, 17, NO_SPLIT, big), want, 20 * row)).toBeLessThanOrEqual(
			0
		);
		expect(excess(await runChunk(pr, 36, 1, {}, big), want, 36 * row)).toBeLessThanOrEqual(0);
		big.destroy();
	});

	it('decode at 4096+ keys with Gemma-2 2B shapes (8 heads over 4, hd 256, window 4096) matches', async () => {
		// Split-K over many key blocks: the online max/sum must merge ~500 blocks exactly.
		const total = 4101; // decode at position 4100: the window drops keys 0..4
		const pr = makeProblem(
			{ total, heads: 8, kvHeads: 4, hd: 256, scale: 224 ** -0.5, softcap: 50, window: 4096 },
			100,
			3
		);
		// The full float64 reference is O(total²); its last row alone is all we need.
		const small = makeProblem({ ...base, total: 12, window: 5, softcap: 2 }, 101, 3);
		const smallRow = small.heads * small.hd;
		expect(
			excess(Float32Array.from(referenceLastRow(small)), reference(small), 11 * smallRow)
		).toBeLessThanOrEqual(0);
		const want = referenceLastRow(pr);
		const got = await runChunk(pr, total - 1, 1);
		expect(excess(got, want)).toBeLessThanOrEqual(0);
	});
});

describe('attention with f16 tiles (devices with shader-f16: Dawn on lavapipe in the gpu-node layer)', () => {
	/** max over query rows and keys of Σ_c |q_c·k_c| (what bounds a score's f16 rounding). */
	function maxScoreAbsSum(pr: Problem): number {
		let worst = 0;
		for (let i = 0; i < pr.total * pr.heads; i++)
			for (let j = 0; j < pr.total * pr.kvHeads; j++) {
				let sum = 0;
				for (let c = 0; c < pr.hd; c++) sum += Math.abs(pr.q[i * pr.hd + c] * pr.k[j * pr.hd + c]);
				worst = Math.max(worst, sum);
			}
		return worst;
	}
	const maxAbs = (a: ArrayLike<number>) =>
		Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
	const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>, offset = 0) => {
		let d = 0;
		for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[offset + i]));
		return d;
	};

	it('within the stated f16 bound of the float64 reference: prefill, split decode, chunks, window, softcap, hd 256', async (ctx) => {
		const adapter = await navigator.gpu.requestAdapter();
		if (!adapter?.features.has('shader-f16'))
			return ctx.skip('no shader-f16 here (SwiftShader): the gpu-node layer runs this on lavapipe');
		const f16 = await adapter.requestDevice({
			requiredFeatures: ['shader-f16'],
			requiredLimits: {
				maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize
			}
		});
		try {
			const kernel = new AttentionKernel(f16);
			expect(kernel.storage).toBe('f16'); // the device's path, chosen at construction
			expect(kernel.keyBlock).toBe(
				adapter.limits.maxComputeWorkgroupStorageSize >= 32768 ? 32 : 16
			);
			const base = { heads: 4, kvHeads: 2, hd: 32, scale: 24 ** -0.5 };
			const cases: { pr: Problem; pos0: number; T: number; options?: AttentionOptions }[] = [];
			const prefill = makeProblem({ ...base, total: 21, softcap: 2, window: 0 }, 200, 3);
			cases.push(
				{ pr: prefill, pos0: 0, T: 21 },
				{ pr: prefill, pos0: 0, T: 21, options: NO_SPLIT }
			);
			const chunks = makeProblem({ ...base, total: 13, softcap: 2, window: 5 }, 210, 3);
			cases.push({ pr: chunks, pos0: 0, T: 6 }, { pr: chunks, pos0: 6, T: 7 });
			const decode = makeProblem({ ...base, total: 57, softcap: 2, window: 16 }, 220, 3);
			cases.push({ pr: decode, pos0: 56, T: 1 });
			const wide = makeProblem(
				{ total: 6, heads: 2, kvHeads: 1, hd: 256, scale: 224 ** -0.5, softcap: 50, window: 4 },
				230,
				2
			);
			cases.push({ pr: wide, pos0: 0, T: 4 }, { pr: wide, pos0: 4, T: 2 });
			for (const { pr, pos0, T, options } of cases) {
				const want = reference(pr);
				const offset = pos0 * pr.heads * pr.hd;
				const bound = attentionF16Bound(maxScoreAbsSum(pr), pr.scale, maxAbs(pr.v));
				const got = await runChunk(pr, pos0, T, options, f16);
				const err = maxDiff(got, want, offset);
				console.log(
					`f16 tiles, hd ${pr.hd}, pos0 ${pos0}, T ${T}: max error ${err.toExponential(2)} (bound ${bound.toExponential(2)})`
				);
				expect(err).toBeLessThanOrEqual(bound);
				expect(bound).toBeLessThan(0.03); // the bound itself says something
				// the f16 tiles did run: the f32 ones stay within 1e-5 (the tests above)
				expect(err).toBeGreaterThan(1e-5);
			}
		} finally {
			f16.destroy();
		}
	});

	it('refuses f16 tiles on a device without shader-f16 (and does not choose them there)', () => {
		expect(() => new AttentionKernel(device, { storage: 'f16' })).toThrow(/shader-f16/);
		expect(new AttentionKernel(device).storage).toBe('f32');
	});
});

/** The last query row of attentionForward (same maths, one row): a [H·hd]. */
function referenceLastRow(pr: Problem): Float64Array {
	const { total: T, heads: H, kvHeads: KV, hd } = pr;
	const i = T - 1;
	const lo = pr.window > 0 ? Math.max(0, i - pr.window + 1) : 0;
	const a = new Float64Array(H * hd);
	const s = new Float64Array(T);
	for (let h = 0; h < H; h++) {
		const kvh = Math.floor(h / (H / KV));
		let max = -Infinity;
		for (let j = lo; j <= i; j++) {
			let dot = 0;
			for (let c = 0; c < hd; c++)
				dot += pr.q[(i * H + h) * hd + c] * pr.k[(j * KV + kvh) * hd + c];
			const z = dot * pr.scale;
			s[j] = pr.softcap > 0 ? pr.softcap * Math.tanh(z / pr.softcap) : z;
			max = Math.max(max, s[j]);
		}
		let sum = 0;
		for (let j = lo; j <= i; j++) sum += s[j] = Math.exp(s[j] - max);
		for (let j = lo; j <= i; j++)
			for (let c = 0; c < hd; c++) a[h * hd + c] += (s[j] / sum) * pr.v[(j * KV + kvh) * hd + c];
	}
	return a;
}
