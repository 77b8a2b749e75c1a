import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/lib/reference/random-model';
import {
	SamplingKernel,
	penaltySet,
	samplingScratchBytes,
	type SamplingParams
} from '../../src/lib/webgpu/kernels/sampling';
import { randomArray, run, testDevice, upload, zeros } from './harness';

/**
 * CPU statement of the semantics (HF order): repetition penalty, temperature, top-k (ties at the
 * k-th value kept), top-p (smallest top set with mass ≥ p), then the inverse CDF in id order.
 * Returns the id and how close u·Z fell to a CDF step (to skip draws that f32 rounding may flip).
 */
function cpuSample(
	logits: Float64Array,
	p: SamplingParams,
	prev: number[],
	u: number
): { id: number; margin: number } {
	const z = Float64Array.from(logits, (v) => Math.fround(v));
	const pen = p.repetitionPenalty ?? 1;
	for (const id of new Set(prev)) z[id] = Math.fround(z[id] > 0 ? z[id] / pen : z[id] * pen);
	const temp = p.temperature ?? 1;
	if (temp <= 0 || p.topK === 1) {
		let best = 0;
		for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
		return { id: best, margin: Infinity };
	}
	for (let i = 0; i < z.length; i++) z[i] = Math.fround(z[i] / temp);
	const desc = [...z].sort((a, b) => b - a);
	const thrK = p.topK && p.topK < z.length ? desc[p.topK - 1] : -Infinity;
	const max = desc[0];
	const kept = desc.filter((v) => v >= thrK);
	const Z = kept.reduce((s, v) => s + Math.exp(v - max), 0);
	let thr = thrK;
	if ((p.topP ?? 1) < 1) {
		let acc = 0;
		for (const v of kept) {
			acc += Math.exp(v - max);
			if (acc >= (p.topP ?? 1) * Z) {
				thr = v;
				break;
			}
		}
	}
	const w = Array.from(z, (v) => (v >= thr ? Math.exp(v - max) : 0));
	const total = w.reduce((s, v) => s + v, 0);
	const target = u * total;
	let acc = 0;
	for (let i = 0; i < w.length; i++) {
		if (w[i] === 0) continue;
		const before = acc;
		acc += w[i];
		if (acc > target) return { id: i, margin: Math.min(target - before, acc - target) / total };
	}
	return { id: w.length - 1 - [...w].reverse().findIndex((v) => v > 0), margin: 0 };
}

async function gpuSample(
	logits: Float64Array,
	p: SamplingParams,
	prev: number[],
	u: number
): Promise<number> {
	const { device, memory } = await testDevice();
	const lb = upload(memory, logits);
	const seen = upload(memory, penaltySet(prev, logits.length), 'u32');
	const scratch = zeros(memory, samplingScratchBytes(logits.length) / 4);
	const out = zeros(memory, 1);
	const read = device.createBuffer({
		size: 4,
		usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST
	});
	await run(device, (enc) => {
		new SamplingKernel(device).encode(enc, { logits: lb, seen, scratch, out }, logits.length, p, u);
		enc.copyBufferToBuffer(out, 0, read, 0, 4);
	});
	await read.mapAsync(GPUMapMode.READ);
	const id = new Uint32Array(read.getMappedRange())[0];
	read.destroy();
	memory.freeAll();
	return id;
}

// One workgroup's ids (1000, not a multiple of the 256-thread workgroup), and many workgroups
// (5000 ids: 5 workgroups of 1024, the last one partial) with the tie at the top split across two
// of them.
for (const [V, tie] of [
	[1000, [500, 501]],
	[5000, [2100, 4900]]
] as const)
	describe(`GPU sampling follows HF semantics (V = ${V})`, () => {
		const logits = randomArray(V, seededRandom(42), 4);
		logits[tie[0]] = logits[tie[1]] = 9; // a tie at the top: greedy takes the lower id

		it('greedy (temperature 0) is the argmax, lowest id on ties', async () => {
			expect(await gpuSample(logits, { temperature: 0 }, [], 0.3)).toBe(tie[0]);
			expect(await gpuSample(logits, { temperature: 1, topK: 1 }, [], 0.9)).toBe(tie[0]);
		});

		it('repetition penalty divides positive logits of previous ids (greedy moves off them)', async () => {
			const want = cpuSample(
				logits,
				{ temperature: 0, repetitionPenalty: 3 },
				[tie[0], tie[1], tie[0]],
				0
			).id;
			expect(want).not.toBe(tie[0]);
			expect(
				await gpuSample(
					logits,
					{ temperature: 0, repetitionPenalty: 3 },
					[tie[0], tie[1], tie[0]],
					0
				)
			).toBe(want);
		});

		const settings: SamplingParams[] = [
			{ temperature: 1 },
			{ temperature: 0.7, topK: 5 },
			{ temperature: 1.3, topP: 0.8 },
			{ temperature: 0.9, topK: 40, topP: 0.6, repetitionPenalty: 1.2 },
			{ temperature: 1.1, topK: 700, topP: 0.95, repetitionPenalty: 0.8 }
		];
		for (const p of settings) {
			it(`draws the same id as the CPU statement for ${JSON.stringify(p)}`, async () => {
				const prev = [tie[0], 3, 77, 3];
				let compared = 0;
				for (const u of [0, 0.05, 0.21, 0.37, 0.5, 0.66, 0.83, 0.999]) {
					const want = cpuSample(logits, p, prev, u);
					if (want.margin < 1e-5) continue; // u·Z on a CDF step: f32 rounding may go either way
					expect(await gpuSample(logits, p, prev, u), `u=${u}`).toBe(want.id);
					compared++;
				}
				expect(compared).toBeGreaterThan(5);
			});
		}

		it('top-k keeps only the k highest logits and top-p keeps at least one token (ties at the threshold kept)', async () => {
			const top3 = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 3);
			for (const u of [0.01, 0.4, 0.99])
				expect(top3).toContain(await gpuSample(logits, { temperature: 5, topK: 3 }, [], u));
			// p → 0 keeps only the top logit — both ids of the tie at the top, as HF's sort would keep one
			// of them; either is a valid draw.
			expect(tie).toContain(await gpuSample(logits, { temperature: 1, topP: 1e-9 }, [], 0.99));
			expect(await gpuSample(logits, { temperature: 1, topP: 1e-9 }, [], 0)).toBe(tie[0]);
		});
	});
