/**
 * Gemma2Backward: loss and LoRA gradients of one sequence on the GPU — the training twin of
 * Gemma2Engine's forward (forward.ts), differentiated as in docs/specs/gemma2.md (Loss, Backward)
 * and checked against the float64 oracle src/lib/reference/backward.ts.
 *
 *   forward   ckpt[0] = E[ids]·√d; per layer L: the layer (LoRA hook included) reads ckpt[L] and
 *             writes its output straight into ckpt[L + 1] (the last layer into h): no copies
 *   loss      at the supervised positions t (labels[t+1] ≠ −100) only: RMSNorm_final, tied LM head,
 *             final softcap, cross-entropy — fused and chunked over the vocabulary
 *             (kernels/cross-entropy.ts), already differentiated (× gradScale) into dh
 *   backward  per layer L, last to first: recompute the layer reading ckpt[L] (keeping every
 *             intermediate of THIS layer only), then walk it in reverse; each projection's
 *             backward is dx = dy W (frozen) plus the LoRA hook's encodeBackward (dA, dB, and
 *             dx += s·(dy B) A) — by group of projections sharing x where the hook takes groups
 *             (projection-hook.ts: q | k | v and gate | up in one kernel group each)
 *
 * Memory plan (activation checkpointing per layer): backwardBufferPlan in backward-plan.ts declares
 * every buffer as typed plans (io, ckpt, layer, grad, loss) that the constructor allocates through
 * GpuMemory.allocPlan; memoryReport() at run time:
 * numLayers × [T, d] checkpoints, ONE layer's activations and gradients, and the cross-entropy's
 * [R, d] rows plus one [R, Vb] block of logits. Gemma-2 2B at T = 512 (plannedBackwardBytes): checkpoints
 * 123 MB, one layer's activations 98 MB + gradients 46 MB, cross-entropy 36 MB — 301 MB in all,
 * beside the weights (q4f16 ≈ 1.47 GB), the LoRA parameters/gradients/Adam moments and the
 * engine's own KV cache and activations.
 *
 * Base weights, norms and the embedding are frozen: gradients flow to activations and to LoRA only;
 * the gradient stops at the embedding. Weights and memory are the engine's (one copy of the
 * weights, one GpuMemory; pipelines are shared through kernel.ts's per-device cache); the engine's
 * KV cache and activations are not touched.
 *
 * The LoRA hook is the constructor's (engine.lora is neither read nor changed).
 * Hook conventions (as the forward's ProjectionHook): `encode` and `encodeBackward` are called
 * inside an open compute pass (kernel.ts beginComputePass): dispatch through ComputeKernel only,
 * no copies or clears. The hook ACCUMULATES into its gradients: zero them (outside a pass) before
 * an optimizer step's first micro-batch; several lossAndGrads calls then sum, which is gradient
 * accumulation when gradScale = 1 / (the step's supervised-token count).
 */
import type { Gemma2Config } from '../../model/config';
import { shiftedTargets } from '../../lora/labels';
import { PROJECTIONS, projectionShape, type ProjectionName } from '../../model/weights';
import { beginComputePass, endComputePass } from '../kernel';
import { AttentionKernel } from '../kernels/attention';
import { CrossEntropyKernel } from '../kernels/cross-entropy';
import { backwardBufferPlan, CE_BLOCK_BYTES, type BackwardBufferPlan } from './backward-plan';
import { EmbeddingKernel } from '../kernels/embedding';
import { GeluGateKernel } from '../kernels/gelu-gate';
import { MatmulKernel } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rmsnorm';
import { RopeKernel } from '../kernels/rope';
import type { GpuMemory, MemoryEntry, MemoryPlan, PlanBuffers } from '../memory';
import type { Gemma2Engine } from './forward';
import { LayerForward, attentionParams, type ProjectionHook, type ProjectionSite } from './layer';
import { encodeBranchesBackward } from './projection-hook';
import type { Gemma2GpuWeights } from './weights';

/**
 * The LoRA seam of the backward (implemented by training/gpu-adapter.ts GpuLoraAdapter).
 * Forward: y += s·B(A x) (ProjectionHook). Backward: dy [T,out] → accumulates dA, dB into its own
 * gradient buffers (gradScale is already in dy) and ADDS s·(dy B) A into dx [T,in]; x [T,in] is
 * the projection input saved/recomputed by the caller.
 */
export interface LoraBackwardHook extends ProjectionHook {
	encodeBackward(
		...args: [...ProjectionSite, x: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer, T: number]
	): void;
}

export interface BackwardOptions {
	/** Longest sequence (default: the engine's maxTokens). Every buffer is sized for it. */
	maxTokens?: number;
	/** Bytes of one block of logits in the cross-entropy (default 16 MB; tests force small blocks). */
	ceBlockBytes?: number;
}

export interface LossResult {
	/** Σ over the supervised targets of the cross-entropy (natural log). */
	lossSum: number;
	/** Number of supervised targets (labels[t+1] ≠ −100, t < T−1). */
	count: number;
}

/**
 * Work per command buffer of a training step (FLOPs): 256 GFLOP is ~0.25 s at 1 TFLOP/s, well
 * inside a 2 s watchdog. Gemma-2 2B at 512 tokens: three layers of the forward per submit, the
 * loss alone, a layer of the backward per submit.
 */
const SUBMIT_FLOPS = 256e9;

/** The backward's buffers, one record per group of its memory plan (backward-plan.ts). */
type Buffers<G extends keyof BackwardBufferPlan> = PlanBuffers<BackwardBufferPlan[G]>;

/** Maximal runs of consecutive positions: [first position, first row, length]. */
function runs(positions: number[]): [pos: number, row: number, n: number][] {
	const out: [number, number, number][] = [];
	positions.forEach((p, r) => {
		const last = out[out.length - 1];
		if (last && last[0] + last[2] === p) last[2]++;
		else out.push([p, r, 1]);
	});
	return out;
}

export class Gemma2Backward {
	readonly config: Gemma2Config;
	readonly maxTokens: number;
	readonly device: GPUDevice;

	private readonly memory: GpuMemory;
	private readonly weights: Gemma2GpuWeights;
	private readonly matmul: MatmulKernel;
	private readonly layer: LayerForward;
	private readonly rmsnorm: RmsNormKernel;
	private readonly embedding: EmbeddingKernel;
	private readonly rope: RopeKernel;
	private readonly attention: AttentionKernel;
	private readonly geluGate: GeluGateKernel;
	private readonly crossEntropy: CrossEntropyKernel;
	private readonly ceBlockRows: number;
	/** Weights of one layer's seven projections (2 FLOPs per weight and token each pass). */
	private readonly layerParams: number;

	private readonly ids: GPUBuffer; // [maxTokens] u32
	private readonly h: GPUBuffer; // [T, d] the residual stream of the forward
	/** ckpt[L] [T, d]: the residual stream entering layer L (plan.ckpt's fields 0 .. L − 1). */
	private readonly ckpt: GPUBuffer[];
	/** One layer's intermediates (LayerBuffers): h is hMid, the recompute's residual stream. */
	private readonly act: Buffers<'layer'>;
	private readonly grad: Buffers<'grad'>;
	private readonly lossBufs: Buffers<'loss'>;
	private readonly owned: GPUBuffer[] = [];
	private destroyed = false;

	constructor(
		engine: Gemma2Engine,
		/** The trained adapter; null scores the base model (loss() / lossAndGrads with no LoRA). */
		readonly lora: LoraBackwardHook | null,
		opts: BackwardOptions = {}
	) {
		const c = (this.config = engine.config);
		this.device = engine.device;
		this.memory = engine.memory;
		this.weights = engine.weights;
		this.maxTokens = opts.maxTokens ?? engine.maxTokens;
		const device = this.device;
		this.matmul = new MatmulKernel(device);
		this.rmsnorm = new RmsNormKernel(device);
		this.embedding = new EmbeddingKernel(device);
		this.rope = new RopeKernel(device, this.memory);
		this.attention = new AttentionKernel(device, { memory: this.memory });
		this.geluGate = new GeluGateKernel(device);
		this.crossEntropy = new CrossEntropyKernel(device);
		const { matmul, rmsnorm, rope, attention, geluGate } = this;
		const kernels = { matmul, rmsnorm, rope, attention, geluGate };
		this.layer = new LayerForward(c, this.weights, kernels, () => this.lora);

		this.layerParams = PROJECTIONS.reduce((n, p) => {
			const [rows, cols] = projectionShape(c, p);
			return n + rows * cols;
		}, 0);
		const T = this.maxTokens;
		this.ceBlockRows = this.crossEntropy.blockRows(
			this.weights.embed,
			Math.max(1, T - 1),
			opts.ceBlockBytes ?? CE_BLOCK_BYTES
		);
		const plan = backwardBufferPlan(c, T, this.ceBlockRows);
		const own = <K extends string>(p: MemoryPlan<K>) => {
			const bufs = this.memory.allocPlan(p);
			this.owned.push(...Object.values<GPUBuffer>(bufs));
			return bufs;
		};
		({ ids: this.ids, h: this.h } = own(plan.io));
		this.ckpt = Object.values(own(plan.ckpt));
		this.act = own(plan.layer);
		this.grad = own(plan.grad);
		this.lossBufs = own(plan.loss);
	}

	/**
	 * Σ cross-entropy over the supervised targets of one sequence, and gradScale · ∂(that)/∂θ
	 * ADDED to the LoRA hook's gradients. ids, labels [T] (labels: −100 = ignored; shifted inside,
	 * as transformers does: logits at t predict labels[t+1]).
	 */
	async lossAndGrads(
		ids: number[],
		labels: number[],
		opts: { gradScale: number }
	): Promise<LossResult> {
		return this.run(ids, labels, opts.gradScale, true);
	}

	/** Forward-only: Σ cross-entropy and the target count (no gradient touched). */
	async loss(ids: number[], labels: number[]): Promise<LossResult> {
		return this.run(ids, labels, 0, false);
	}

	/**
	 * Where this backward's memory goes (its own buffers), beside the shared GpuMemory's totals
	 * and `describe`, all of it in one line by group of buffers (GpuMemory.describe).
	 */
	memoryReport(): {
		entries: MemoryEntry[];
		bytes: number;
		byPurpose: ReturnType<GpuMemory['byPurpose']>;
		current: number;
		peak: number;
		describe: string;
	} {
		const mine = new Set(this.owned.map((b) => b.label));
		const entries = this.memory.report().filter((e) => mine.has(e.label));
		return {
			entries,
			bytes: entries.reduce((s, e) => s + e.size, 0),
			byPurpose: this.memory.byPurpose(),
			current: this.memory.current,
			peak: this.memory.peak,
			describe: this.memory.describe()
		};
	}

	destroy(): void {
		if (this.destroyed) return;
		this.destroyed = true;
		for (const b of this.owned) this.memory.free(b);
		this.attention.destroy();
		this.rope.destroy();
	}

	// ---------------------------------------------------------------------------------------------

	private async run(
		ids: number[],
		labels: number[],
		gradScale: number,
		backward: boolean
	): Promise<LossResult> {
		if (this.destroyed) throw new Error('Gemma2Backward: used after destroy()');
		const c = this.config;
		const T = ids.length;
		if (labels.length !== T) throw new Error(`labels length ${labels.length} ≠ ids length ${T}`);
		if (T === 0 || T > this.maxTokens)
			throw new Error(`sequence of ${T} tokens (Gemma2Backward holds 1..${this.maxTokens})`);
		for (const id of ids)
			if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
				throw new Error(`token id ${id} out of range`);
		const { positions, targets } = shiftedTargets(labels);
		for (const y of targets)
			if (!Number.isInteger(y) || y < 0 || y >= c.vocabSize)
				throw new Error(`label ${y} out of range [0, ${c.vocabSize})`);
		const R = positions.length;
		const d = c.hiddenSize;
		const lb = this.lossBufs;

		this.device.pushErrorScope('validation');
		this.device.queue.writeBuffer(this.ids, 0, Uint32Array.from(ids));
		if (R > 0) this.device.queue.writeBuffer(lb.targets, 0, Uint32Array.from(targets));
		// Command buffers hold about SUBMIT_FLOPS of work each (a whole 2B step in one submit could
		// run past a GPU watchdog, seconds on laptops): `budget(flops)` before encoding a piece of
		// work submits what is pending when the piece would overflow it; the queue keeps the order.
		let enc = this.device.createCommandEncoder({ label: 'gemma2.train' });
		let pending = 0;
		const budget = (flops: number) => {
			if (pending > 0 && pending + flops > SUBMIT_FLOPS) {
				this.device.queue.submit([enc.finish()]);
				enc = this.device.createCommandEncoder({ label: 'gemma2.train' });
				pending = 0;
			}
			pending += flops;
		};
		const layerFlops = 2 * T * this.layerParams;

		// ---------------- forward, keeping each layer's input ----------------
		// ckpt[0] = E[ids] · √d; layer L reads ckpt[L] (hMid in act.h) and writes ckpt[L + 1], the
		// last one h
		const stream = (L: number) => (L < c.numLayers ? this.ckpt[L] : this.h);
		const scale = Math.fround(Math.sqrt(d));
		this.embedding.encode(enc, this.ids, this.weights.embed, stream(0), T, scale);
		for (let L = 0; L < c.numLayers; L++) {
			budget(layerFlops);
			beginComputePass(enc, `train forward ${L}`);
			const io = { input: this.ckpt[L], output: stream(L + 1) };
			this.layer.encode(enc, L, T, this.act, { pos0: 0, ...io });
			endComputePass(enc);
		}

		// ---------------- loss at the supervised rows (and its gradient into dh) ----------------
		const rowRuns = runs(positions);
		for (const [pos, row, n] of rowRuns)
			enc.copyBufferToBuffer(this.h, pos * d * 4, lb.hRows, row * d * 4, n * d * 4);
		const ceBuffers = {
			h: lb.hRows,
			finalNorm: this.weights.finalNorm,
			embed: this.weights.embed,
			targets: lb.targets,
			hf: lb.hf,
			logits: lb.logits,
			stats: lb.stats,
			loss: lb.loss,
			dhf: lb.dhf
		};
		const ceParams = { eps: c.rmsNormEps, cap: c.finalSoftcap, blockRows: this.ceBlockRows };
		if (R > 0) {
			budget((backward ? 6 : 2) * R * c.vocabSize * d);
			beginComputePass(enc, 'train loss');
			this.crossEntropy.encodeForward(enc, ceBuffers, R, ceParams);
			if (backward)
				this.crossEntropy.encodeBackward(enc, ceBuffers, lb.dhRows, R, { ...ceParams, gradScale });
			endComputePass(enc);
			enc.copyBufferToBuffer(lb.loss, 0, lb.lossRead, 0, R * 4);
		}

		// ---------------- backward, layer by layer ----------------
		if (backward && R > 0) {
			// `hf = RMSNorm_final(h)` only at the supervised rows: the other rows get no gradient
			enc.clearBuffer(this.grad.dh, 0, T * d * 4);
			for (const [pos, row, n] of rowRuns)
				enc.copyBufferToBuffer(lb.dhRows, row * d * 4, this.grad.dh, pos * d * 4, n * d * 4);
			for (let L = c.numLayers - 1; L >= 0; L--) {
				budget(3 * layerFlops); // recompute, dx through the frozen weights, the rest
				beginComputePass(enc, `train backward ${L}`);
				// recompute the layer reading its input ckpt[L] (hMid into act.h), keeping each row's
				// softmax statistics for the attention backward
				const stats = this.grad.attnStats;
				const input = this.ckpt[L];
				this.layer.encode(enc, L, T, this.act, { pos0: 0, stats, stopAtMid: true, input });
				this.layerBackward(enc, L, T);
				endComputePass(enc);
			}
		}
		this.device.queue.submit([enc.finish()]);
		const err = await this.device.popErrorScope();
		if (err) throw new Error(`Gemma2Backward: ${err.message}`);

		let lossSum = 0;
		if (R > 0) {
			await lb.lossRead.mapAsync(GPUMapMode.READ, 0, R * 4);
			const perRow = new Float32Array(lb.lossRead.getMappedRange(0, R * 4));
			for (let r = 0; r < R; r++) lossSum += perRow[r];
			lb.lossRead.unmap();
		} else {
			await this.device.queue.onSubmittedWorkDone();
		}
		return { lossSum, count: R };
	}

	/**
	 * dx [T, in] = Σ_i dys[i] W_i, then the LoRA hook: dA, dB += …, dx += s·(dy B) A.
	 * In the forward this was `ys[i] = x W_iᵀ + s·B(A x)` (LayerForward.project).
	 */
	private projectBackward(
		enc: GPUCommandEncoder,
		L: number,
		names: ProjectionName[],
		x: GPUBuffer,
		dys: GPUBuffer[],
		dx: GPUBuffer,
		T: number
	): void {
		names.forEach((n, i) =>
			this.matmul.encodeBackward(enc, dys[i], this.weights.layers[L].proj[n], dx, T, {
				accumulate: i > 0
			})
		);
		encodeBranchesBackward(this.lora, enc, L, names, x, dys, dx, T);
	}

	/**
	 * The layer in reverse, after the recompute (LayerForward, stopAtMid) filled this.act. On entry
	 * grad.dh holds ∂/∂(the layer's output h); on return ∂/∂(its input), the next layer down's output.
	 */
	private layerBackward(enc: GPUCommandEncoder, L: number, T: number): void {
		const c = this.config;
		const lw = this.weights.layers[L];
		const { h: hMid, x, q, k, v, a, o, x2, gate, up, act: g, f } = this.act;
		const { dh, dy, dx, dg, da, dq, dk, dv, attnStats } = this.grad;
		const d = c.hiddenSize;
		const eps = c.rmsNormEps;
		const ckpt = this.ckpt[L];

		// `h = hMid + RMSNorm_post_ffn(f)`: the residual passes dh to hMid unchanged; the branch gets
		// df = RMSNorm backward (dh)
		this.rmsnorm.encodeBackward(enc, dh, f, lw.postFfnNorm, dy, T, d, eps);
		// `f = g Wdᵀ (+ LoRA)`
		this.projectBackward(enc, L, ['down_proj'], g, [dy], dg, T);
		// `g = gelu_tanh(gate) ⊙ up`: dgate, dup overwrite gate, up (not needed any more)
		this.geluGate.encodeBackwardInPlace(enc, dg, gate, up, T * c.intermediateSize);
		const [dgate, dup] = [gate, up];
		// `gate = x2 Wgᵀ`, `up = x2 Wuᵀ`: x2 feeds both, its gradient is the sum
		this.projectBackward(enc, L, ['gate_proj', 'up_proj'], x2, [dgate, dup], dx, T);
		// `x2 = RMSNorm_pre_ffn(hMid)`: added to the residual's gradient (now ∂/∂hMid)
		this.rmsnorm.encodeBackward(enc, dx, hMid, lw.preFfnNorm, dh, T, d, eps, { accumulate: true });

		// `hMid = hIn + RMSNorm_post_attn(o)`: again the residual passes dh through
		this.rmsnorm.encodeBackward(enc, dh, o, lw.postAttnNorm, dy, T, d, eps);
		// `o = a Woᵀ (+ LoRA)`
		this.projectBackward(enc, L, ['o_proj'], a, [dy], da, T);
		// `a = attention(q, k, v)` (q, k after RoPE); p is recomputed inside from the statistics the
		// recomputed forward left in attnStats
		const p = attentionParams(c, L, T, 0);
		this.attention.encodeBackward(enc, { q, k, v, out: a, da, dq, dk, dv, stats: attnStats }, p);
		// `RoPE(q)`, `RoPE(k)`: rotate the gradients back
		this.rope.encodeBackward(enc, dq, T, c.numHeads, c.headDim, c.ropeTheta, 0);
		this.rope.encodeBackward(enc, dk, T, c.numKvHeads, c.headDim, c.ropeTheta, 0);
		// `q, k, v = x W{q,k,v}ᵀ (+ LoRA)`: x feeds all three
		this.projectBackward(enc, L, ['q_proj', 'k_proj', 'v_proj'], x, [dq, dk, dv], dx, T);
		// `x = RMSNorm_input(hIn)`: dh becomes ∂/∂hIn
		this.rmsnorm.encodeBackward(enc, dx, ckpt, lw.inputNorm, dh, T, d, eps, { accumulate: true });
	}
}
