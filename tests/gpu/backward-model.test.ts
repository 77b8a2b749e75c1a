/**
 * The whole GPU backward (Gemma2Backward.lossAndGrads) against the float64 oracle
 * referenceLossAndGrads on the tiny model: LoRA r = 2 on all seven projections of every layer,
 * B ≠ 0 (so dA is not trivially zero), −100 labels, a sequence longer than the sliding window,
 * both softcaps reached, the vocabulary in 2 chunks × several cross-entropy blocks.
 */
import { describe, expect, it } from 'vitest';
import type { LoraAdapter } from '../../src/lib/lora/adapter';
import { loraTensorName } from '../../src/lib/lora/tensor-names';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import type { ProjectionName } from '../../src/lib/model/weights';
import { referenceLossAndGrads } from '../../src/lib/reference/backward';
import { randomWeights, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Backward, type LoraBackwardHook } from '../../src/lib/webgpu/gemma2/backward';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { MatmulKernel, type GpuLinear } from '../../src/lib/webgpu/kernels/matmul';
import type { GpuMemory } from '../../src/lib/webgpu/memory';
import { adapterWithB, IDS, LABELS, tensorErr } from './backward-fixtures';
import { readF32, testDevice } from './harness';

/**
 * The simplest LoraBackwardHook, from matmul kernels alone (a cross-check independent of
 * training/gpu-adapter.ts): A and s·B as GpuLinears, dA/dB in f32 buffers.
 */
class MatmulLoraHook implements LoraBackwardHook {
	private readonly mm: MatmulKernel;
	private readonly mods = new Map<
		string,
		{ A: GpuLinear; sB: GpuLinear; s: number; r: number; dA: GPUBuffer; dB: GPUBuffer }
	>();
	private readonly ax: GPUBuffer;
	private readonly e: GPUBuffer;

	constructor(device: GPUDevice, memory: GpuMemory, adapter: LoraAdapter, maxT: number) {
		this.mm = new MatmulKernel(device);
		const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
		let maxR = 1;
		for (const m of adapter.modules.values()) {
			maxR = Math.max(maxR, m.r);
			this.mods.set(`${m.layer}/${m.proj}`, {
				A: uploadLinear(memory, 'A', { kind: 'f32', rows: m.r, cols: m.in, data: m.A }),
				sB: uploadLinear(memory, 'sB', {
					kind: 'f32',
					rows: m.out,
					cols: m.r,
					data: m.B.map((b) => b * m.scale)
				}),
				s: m.scale,
				r: m.r,
				dA: memory.alloc('dA', m.A.length * 4, usage, 'lora'),
				dB: memory.alloc('dB', m.B.length * 4, usage, 'lora')
			});
		}
		this.ax = memory.alloc('ax', maxT * maxR * 4, usage, 'scratch');
		this.e = memory.alloc('e', maxT * maxR * 4, usage, 'scratch');
	}

	encode(
		enc: GPUCommandEncoder,
		L: number,
		p: ProjectionName,
		x: GPUBuffer,
		y: GPUBuffer,
		T: number
	) {
		const m = this.mods.get(`${L}/${p}`);
		if (!m) return;
		this.mm.encode(enc, x, m.A, this.ax, T);
		this.mm.encode(enc, this.ax, m.sB, y, T, { accumulate: true });
	}

	encodeBackward(
		enc: GPUCommandEncoder,
		L: number,
		p: ProjectionName,
		x: GPUBuffer,
		dy: GPUBuffer,
		dx: GPUBuffer,
		T: number
	) {
		const m = this.mods.get(`${L}/${p}`);
		if (!m) return;
		const IN = m.A.cols,
			OUT = m.sB.rows;
		// e = s·(dy B) [T, r];  dx += e A;  dA += eᵀ x;  dB += s·dyᵀ (A x)
		this.mm.encodeBackward(enc, dy, m.sB, this.e, T);
		this.mm.encodeBackward(enc, this.e, m.A, dx, T, { accumulate: true });
		this.mm.encodeWeightGrad(enc, this.e, x, m.dA, T, m.r, IN, { accumulate: true });
		this.mm.encode(enc, x, m.A, this.ax, T);
		this.mm.encodeWeightGrad(enc, dy, this.ax, m.dB, T, OUT, m.r, {
			accumulate: true,
			alpha: m.s
		});
	}

	zeroGrads(enc: GPUCommandEncoder) {
		for (const m of this.mods.values()) {
			enc.clearBuffer(m.dA);
			enc.clearBuffer(m.dB);
		}
	}

	async grads(device: GPUDevice): Promise<Map<string, Float32Array>> {
		const out = new Map<string, Float32Array>();
		for (const [key, m] of this.mods) {
			const [L, p] = key.split('/');
			out.set(
				loraTensorName(+L, p as ProjectionName, 'A'),
				await readF32(device, m.dA, m.A.rows * m.A.cols)
			);
			out.set(
				loraTensorName(+L, p as ProjectionName, 'B'),
				await readF32(device, m.dB, m.sB.rows * m.r)
			);
		}
		return out;
	}
}

describe('Gemma2Backward.lossAndGrads matches referenceLossAndGrads (tiny model, LoRA r=2 on all 7 projections)', () => {
	// (SwiftShader compiles every pipeline once per file: the first case pays ~20 s of it. The f32
	// weights with training/gpu-adapter.ts run in backward-accumulate.test.ts.)
	const cases = [
		{ format: 'f32', hook: 'matmul' },
		{ format: 'q4f16', hook: 'gpu-adapter' }
	] as const;
	for (const { format, hook } of cases)
		it(`${format} weights, ${hook} hook: loss within 1e-5, every LoRA gradient within 1e-3`, async () => {
			const { device, memory } = await testDevice();
			const w = randomWeights(TINY_CONFIG, 31, format);
			const adapter = adapterWithB(40);
			const ref = referenceLossAndGrads(w, adapter, IDS, LABELS);
			expect(ref.count).toBe(9);
			const engine = await Gemma2Engine.create(device, w, {
				maxTokens: 16,
				memory,
				embedSplit: { maxChunkRows: 256 }
			});
			expect(engine.weights.embed.chunks.length).toBe(2);
			const lora =
				hook === 'matmul'
					? new MatmulLoraHook(device, memory, adapter, 16)
					: new GpuLoraAdapter(device, memory, adapter, { trainable: true, maxTokens: 16 });
			// 64 vocabulary rows per block of logits: 4 blocks per chunk
			const bwd = new Gemma2Backward(engine, lora, { maxTokens: 16, ceBlockBytes: 15 * 4 * 64 });
			try {
				const enc = device.createCommandEncoder();
				lora.zeroGrads(enc);
				device.queue.submit([enc.finish()]);
				const got = await bwd.lossAndGrads(IDS, LABELS, { gradScale: 1 / ref.count });
				expect(got.count).toBe(ref.count);
				expect(Math.abs(got.lossSum - ref.lossSum) / ref.lossSum).toBeLessThan(1e-5);
				const grads =
					lora instanceof MatmulLoraHook ? await lora.grads(device) : await lora.downloadGrads();
				expect(grads.size).toBe(2 * 7 * TINY_CONFIG.numLayers);
				let worst = 0,
					worstName = '';
				for (const [name, g] of ref.grads) {
					const e = tensorErr(grads.get(name)!, g);
					if (e > worst) [worst, worstName] = [e, name];
				}
				expect(worst, worstName).toBeLessThan(1e-3);
			} finally {
				bwd.destroy();
				engine.destroy();
				memory.freeAll();
			}
		});
});
