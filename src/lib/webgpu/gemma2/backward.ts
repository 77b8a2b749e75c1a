/**
 * Gemma2Backward: loss and LoRA gradients of one sequence on the GPU — the training twin of
 * Gemma2Engine's forward (forward.ts), differentiated as in docs/specs/gemma2.md (Loss, Backward)
 * and checked against the float64 oracle src/lib/reference/backward.ts.
 *
 *   forward   h = E[ids]·√d; per layer L: ckpt[L] ← h, then the layer (LoRA hook included)
 *   loss      at the supervised positions t (labels[t+1] ≠ −100) only: RMSNorm_final, tied LM head,
 *             final softcap, cross-entropy — fused and chunked over the vocabulary
 *             (kernels/cross-entropy.ts), already differentiated (× gradScale) into dh
 *   backward  per layer L, last to first: recompute the layer from ckpt[L] (keeping every
 *             intermediate of THIS layer only), then walk it in reverse; each projection's
 *             backward is dx = dy W (frozen) plus the LoRA hook's encodeBackward (dA, dB, and
 *             dx += s·(dy B) A)
 *
 * Memory plan (activation checkpointing per layer; backwardBufferPlan in backward-plan.ts, memoryReport() at run time):
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
import { isSlidingLayer, type Gemma2Config } from '../../model/config';
import { shiftedTargets } from '../../lora/labels';
import { PROJECTIONS, projectionShape, type ProjectionName } from '../../model/weights';
import { beginComputePass, endComputePass } from '../kernel';
import { AttentionKernel } from '../kernels/attention';
import { CrossEntropyKernel } from '../kernels/cross-entropy';
import { backwardBufferPlan, CE_BLOCK_BYTES } from './backward-plan';
import { EmbeddingKernel } from '../kernels/embedding';
import { GeluGateKernel } from '../kernels/gelu-gate';
import { MatmulKernel } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rmsnorm';
import { RopeKernel } from '../kernels/rope';
import type { GpuMemory, MemoryEntry } from '../memory';
import type { Gemma2Engine, ProjectionHook } from './forward';
import type { Gemma2GpuWeights } from './weights';

/**
 * The LoRA seam of the backward (implemented by training/gpu-adapter.ts GpuLoraAdapter).
 * Forward: y += s·B(A x) (ProjectionHook).
 */
export interface LoraBackwardHook extends ProjectionHook {
	/** dy [T,out] → accumulates dA, dB into its own gradient buffers (scaled by gradScale is already in dy) and ADDS s·(dy B) A into dx [T,in]. x [T,in] is the projection input saved/recomputed by the caller. */
	encodeBackward(
		enc: GPUCommandEncoder,
		layer: number,
		proj: ProjectionName,
		x: GPUBuffer,
		dy: GPUBuffer,
		dx: GPUBuffer,
		T: number
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

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** One layer's forward intermediates, recomputed from its checkpoint during the backward. */
interface LayerActivations {
	hMid: GPUBuffer; // [T, d] h after the attention block (the working residual in the forward)
	x: GPUBuffer; // [T, d] RMSNorm_input(h)
	q: GPUBuffer; // [T, H·hd] after RoPE
	k: GPUBuffer; // [T, KV·hd] after RoPE
	v: GPUBuffer; // [T, KV·hd]
	a: GPUBuffer; // [T, H·hd] attention output
	o: GPUBuffer; // [T, d] o_proj output
	x2: GPUBuffer; // [T, d] RMSNorm_pre_feedforward(hMid)
	gate: GPUBuffer; // [T, I]
	up: GPUBuffer; // [T, I]
	g: GPUBuffer; // [T, I] gelu(gate) ⊙ up
	f: GPUBuffer; // [T, d] down_proj output
}

/**
 * One layer's gradients (reused by every layer). ∂/∂gate and ∂/∂up are written over act.gate and
 * act.up (dead by then), so the layer holds four [T, I] buffers, not six.
 */
interface LayerGradients {
	dh: GPUBuffer; // [T, d] ∂/∂(residual stream), carried from layer to layer
	dy: GPUBuffer; // [T, d] ∂/∂f, then ∂/∂o
	dx: GPUBuffer; // [T, d] ∂/∂x2, then ∂/∂x
	dg: GPUBuffer; // [T, I]
	da: GPUBuffer; // [T, H·hd]
	dq: GPUBuffer; // [T, H·hd]
	dk: GPUBuffer; // [T, KV·hd]
	dv: GPUBuffer; // [T, KV·hd]
	attnStats: GPUBuffer; // [T, H, 2]
}

/** The cross-entropy's rows (R ≤ T − 1 supervised positions). */
interface LossBuffers {
	targets: GPUBuffer; // [R] u32
	hRows: GPUBuffer; // [R, d] residual rows gathered at the supervised positions
	hf: GPUBuffer; // [R, d]
	logits: GPUBuffer; // [R, Vb]
	stats: GPUBuffer; // [R, 4]
	loss: GPUBuffer; // [R]
	lossRead: GPUBuffer; // [R] MAP_READ
	dhf: GPUBuffer; // [R, d]
	dhRows: GPUBuffer; // [R, d]
}

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
	/** ckpt[L] [T, d]: the residual stream entering layer L. */
	private readonly ckpt: GPUBuffer[];
	private readonly act: LayerActivations;
	private readonly grad: LayerGradients;
	private readonly lossBufs: LossBuffers;
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
		this.rope = new RopeKernel(device);
		this.attention = new AttentionKernel(device);
		this.geluGate = new GeluGateKernel(device);
		this.crossEntropy = new CrossEntropyKernel(device);

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
		const alloc = (
			group: [string, number][],
			prefix: string,
			purpose: 'activations' | 'scratch'
		) => {
			const out: Record<string, GPUBuffer> = {};
			for (const [label, floats] of group) {
				const read = label === 'read';
				const b = this.memory.alloc(
					`backward.${prefix}${label}`,
					floats * 4,
					read ? GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST : STORAGE,
					purpose
				);
				this.owned.push(b);
				out[label] = b;
			}
			return out;
		};
		const act = alloc(plan.act, 'act.', 'activations');
		const grad = alloc(plan.grad, 'grad.', 'activations');
		const loss = alloc(plan.loss, 'loss.', 'scratch');
		this.ckpt = Array.from({ length: c.numLayers }, (_, L) => {
			const b = this.memory.alloc(`backward.ckpt.${L}`, plan.ckpt * 4, STORAGE, 'activations');
			this.owned.push(b);
			return b;
		});
		this.ids = act.ids;
		this.h = act.h;
		this.act = {
			hMid: act.h_mid,
			x: act.x,
			q: act.q,
			k: act.k,
			v: act.v,
			a: act.a,
			o: act.o,
			x2: act.x2,
			gate: act.gate,
			up: act.up,
			g: act.gelu,
			f: act.f
		};
		this.grad = {
			dh: grad.dh,
			dy: grad.dy,
			dx: grad.dx,
			dg: grad.dgelu,
			da: grad.da,
			dq: grad.dq,
			dk: grad.dk,
			dv: grad.dv,
			attnStats: grad.attn_stats
		};
		this.lossBufs = {
			targets: loss.targets,
			hRows: loss.h_rows,
			hf: loss.hf,
			logits: loss.logits_block,
			stats: loss.stats,
			loss: loss.per_row,
			lossRead: loss.read,
			dhf: loss.dhf,
			dhRows: loss.dh_rows
		};
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

	/** Where this backward's memory goes (its own buffers), beside the shared GpuMemory's totals. */
	memoryReport(): {
		entries: MemoryEntry[];
		bytes: number;
		byPurpose: ReturnType<GpuMemory['byPurpose']>;
		current: number;
		peak: number;
	} {
		const mine = new Set(this.owned.map((b) => b.label));
		const entries = this.memory.report().filter((e) => mine.has(e.label));
		return {
			entries,
			bytes: entries.reduce((s, e) => s + e.size, 0),
			byPurpose: this.memory.byPurpose(),
			current: this.memory.current,
			peak: this.memory.peak
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
		// 1. h = E[ids] · √d
		this.embedding.encode(enc, this.ids, this.weights.embed, this.h, T, Math.fround(Math.sqrt(d)));
		for (let L = 0; L < c.numLayers; L++) {
			budget(layerFlops);
			enc.copyBufferToBuffer(this.h, 0, this.ckpt[L], 0, T * d * 4);
			beginComputePass(enc, `train forward ${L}`);
			this.layerForward(enc, L, T, this.h, false);
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
				// recompute the layer from its input: hMid starts as a copy of ckpt[L]
				enc.copyBufferToBuffer(this.ckpt[L], 0, this.act.hMid, 0, T * d * 4);
				beginComputePass(enc, `train backward ${L}`);
				this.layerForward(enc, L, T, this.act.hMid, true);
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

	/** y [T, out] = x Wᵀ + the LoRA hook's s·B(A x). */
	private project(
		enc: GPUCommandEncoder,
		L: number,
		name: ProjectionName,
		x: GPUBuffer,
		y: GPUBuffer,
		T: number
	): void {
		this.matmul.encode(enc, x, this.weights.layers[L].proj[name], y, T);
		this.lora?.encode(enc, L, name, x, y, T);
	}

	/**
	 * dx [T, in] (+)= dy W, then the LoRA hook: dA, dB += …, dx += s·(dy B) A.
	 * In the forward this was `y = x Wᵀ + s·B(A x)` (project above).
	 */
	private projectBackward(
		enc: GPUCommandEncoder,
		L: number,
		name: ProjectionName,
		x: GPUBuffer,
		dy: GPUBuffer,
		dx: GPUBuffer,
		T: number,
		accumulate: boolean
	): void {
		this.matmul.encodeBackward(enc, dy, this.weights.layers[L].proj[name], dx, T, { accumulate });
		this.lora?.encodeBackward(enc, L, name, x, dy, dx, T);
	}

	/**
	 * One decoder layer over a whole sequence (positions 0 .. T−1, keys = its own k, v), in place
	 * on `h` — as Gemma2Engine.layerForward, but every intermediate lands in this.act so the
	 * backward can use it. `recompute`: h is act.hMid (a copy of the layer's checkpoint); the
	 * feed-forward's residual add is skipped (the backward needs hMid, not the layer's output).
	 */
	private layerForward(
		enc: GPUCommandEncoder,
		L: number,
		T: number,
		h: GPUBuffer,
		recompute: boolean
	): void {
		const c = this.config;
		const lw = this.weights.layers[L];
		const { x, q, k, v, a, o, x2, gate, up, g, f } = this.act;
		const d = c.hiddenSize;
		const eps = c.rmsNormEps;
		// x = RMSNorm_input(h); q, k, v; RoPE on q and k
		this.rmsnorm.encode(enc, h, lw.inputNorm, x, T, d, eps);
		this.project(enc, L, 'q_proj', x, q, T);
		this.project(enc, L, 'k_proj', x, k, T);
		this.project(enc, L, 'v_proj', x, v, T);
		this.rope.encode(enc, q, T, c.numHeads, c.headDim, c.ropeTheta, 0);
		this.rope.encode(enc, k, T, c.numKvHeads, c.headDim, c.ropeTheta, 0);
		// a = softmax(mask(softcap(q·kᵀ·scale)))·v; the recompute keeps each row's softmax
		// statistics for the attention backward
		const stats = recompute ? this.grad.attnStats : undefined;
		this.attention.encode(enc, { q, k, v, out: a, stats }, this.attentionParams(L, T));
		// h = h + RMSNorm_post_attention(a Woᵀ)
		this.project(enc, L, 'o_proj', a, o, T);
		this.rmsnorm.encode(enc, o, lw.postAttnNorm, h, T, d, eps, { accumulate: true });
		// h = h + RMSNorm_post_feedforward((gelu_tanh(x2 Wgᵀ) ⊙ x2 Wuᵀ) Wdᵀ)
		this.rmsnorm.encode(enc, h, lw.preFfnNorm, x2, T, d, eps);
		this.project(enc, L, 'gate_proj', x2, gate, T);
		this.project(enc, L, 'up_proj', x2, up, T);
		this.geluGate.encode(enc, gate, up, g, T * c.intermediateSize);
		this.project(enc, L, 'down_proj', g, f, T);
		if (!recompute) this.rmsnorm.encode(enc, f, lw.postFfnNorm, h, T, d, eps, { accumulate: true });
	}

	/**
	 * The layer in reverse, after layerForward(recompute) filled this.act. On entry grad.dh holds
	 * ∂/∂(the layer's output h); on return ∂/∂(its input), i.e. the next layer down's output.
	 */
	private layerBackward(enc: GPUCommandEncoder, L: number, T: number): void {
		const c = this.config;
		const lw = this.weights.layers[L];
		const { hMid, x, q, k, v, a, o, x2, gate, up, g, f } = this.act;
		const { dh, dy, dx, dg, da, dq, dk, dv, attnStats } = this.grad;
		const d = c.hiddenSize;
		const eps = c.rmsNormEps;
		const ckpt = this.ckpt[L];

		// `h = hMid + RMSNorm_post_ffn(f)`: the residual passes dh to hMid unchanged; the branch gets
		// df = RMSNorm backward (dh)
		this.rmsnorm.encodeBackward(enc, dh, f, lw.postFfnNorm, dy, T, d, eps);
		// `f = g Wdᵀ (+ LoRA)`
		this.projectBackward(enc, L, 'down_proj', g, dy, dg, T, false);
		// `g = gelu_tanh(gate) ⊙ up`: dgate, dup overwrite gate, up (not needed any more)
		this.geluGate.encodeBackwardInPlace(enc, dg, gate, up, T * c.intermediateSize);
		const [dgate, dup] = [gate, up];
		// `gate = x2 Wgᵀ`, `up = x2 Wuᵀ`: x2 feeds both, its gradient is the sum
		this.projectBackward(enc, L, 'gate_proj', x2, dgate, dx, T, false);
		this.projectBackward(enc, L, 'up_proj', x2, dup, dx, T, true);
		// `x2 = RMSNorm_pre_ffn(hMid)`: added to the residual's gradient (now ∂/∂hMid)
		this.rmsnorm.encodeBackward(enc, dx, hMid, lw.preFfnNorm, dh, T, d, eps, { accumulate: true });

		// `hMid = hIn + RMSNorm_post_attn(o)`: again the residual passes dh through
		this.rmsnorm.encodeBackward(enc, dh, o, lw.postAttnNorm, dy, T, d, eps);
		// `o = a Woᵀ (+ LoRA)`
		this.projectBackward(enc, L, 'o_proj', a, dy, da, T, false);
		// `a = attention(q, k, v)` (q, k after RoPE); p is recomputed inside from the statistics the
		// recomputed forward left in attnStats
		const p = this.attentionParams(L, T);
		this.attention.encodeBackward(enc, { q, k, v, out: a, da, dq, dk, dv, stats: attnStats }, p);
		// `RoPE(q)`, `RoPE(k)`: rotate the gradients back
		this.rope.encodeBackward(enc, dq, T, c.numHeads, c.headDim, c.ropeTheta, 0);
		this.rope.encodeBackward(enc, dk, T, c.numKvHeads, c.headDim, c.ropeTheta, 0);
		// `q, k, v = x W{q,k,v}ᵀ (+ LoRA)`: x feeds all three
		this.projectBackward(enc, L, 'q_proj', x, dq, dx, T, false);
		this.projectBackward(enc, L, 'k_proj', x, dk, dx, T, true);
		this.projectBackward(enc, L, 'v_proj', x, dv, dx, T, true);
		// `x = RMSNorm_input(hIn)`: dh becomes ∂/∂hIn
		this.rmsnorm.encodeBackward(enc, dx, ckpt, lw.inputNorm, dh, T, d, eps, { accumulate: true });
	}

	private attentionParams(L: number, T: number) {
		const c = this.config;
		return {
			T,
			pos0: 0,
			heads: c.numHeads,
			kvHeads: c.numKvHeads,
			hd: c.headDim,
			scale: c.queryPreAttnScalar ** -0.5,
			softcap: c.attnSoftcap ?? 0,
			window: isSlidingLayer(L) ? c.slidingWindow : 0
		};
	}
}
