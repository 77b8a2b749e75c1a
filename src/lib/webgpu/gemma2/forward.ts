/**
 * Gemma2Engine: the Gemma-2 forward on the GPU, with a KV cache, for generation and scoring.
 * It reads like the forward in docs/specs/gemma2.md; each step is one kernel (kernels/*.ts).
 *
 *   ids [T] → h = E[ids]·√d                                   [T, d]
 *   per layer L (layer.ts LayerForward, shared with the backward's recompute):
 *     x = RMSNorm_input(h);  q = x Wqᵀ [T,H,hd], k = x Wkᵀ, v = x Wvᵀ [T,KV,hd];  RoPE(q, k)
 *     kv cache ← k, v (rows pos0 .. pos0+T−1);  a = attention(q, cache)  [T, H·hd]
 *     h += RMSNorm_post_attention(a Woᵀ)
 *     x = RMSNorm_pre_feedforward(h);  h += RMSNorm_post_feedforward((gelu(x Wgᵀ) ⊙ x Wuᵀ) Wdᵀ)
 *   logits = softcap(RMSNorm_final(h) Eᵀ)   — the last position only, unless all are asked for
 *
 * Sequences are fed in chunks of `prefillChunk` tokens (activations are sized for one chunk,
 * never for the whole context); decode is the same path with T = 1. Logits are never
 * materialised for more than a block of rows: generation scores only the last position.
 *
 * Seams for training (LoRA): every projection goes through LayerForward.project(), which calls the
 * LoRA hook after the base matmuls (by group of projections sharing x where the hook takes
 * groups, see projection-hook.ts) so the adapter (training/gpu-adapter.ts) adds s·B(A x) into y;
 * Gemma2Backward encodes the same LayerForward for its forward and recompute. The fused decode
 * takes a group-taking hook too (one branch dispatch per adapted group).
 *
 * No DOM: runs in the engine worker, a Vitest browser test and the headless CLI.
 */
import type { Gemma2Config } from '../../model/config';
import { UniformSlots, beginComputePass, endComputePass, useUniformSlots } from '../kernel';
import type { Gemma2Weights, ProjectionName } from '../../model/weights';
import { mulberry32 } from '../../random';
import { AttentionKernel } from '../kernels/attention';
import { EmbeddingKernel } from '../kernels/embedding';
import { GeluGateKernel } from '../kernels/gelu-gate';
import { GEMV_MAX_M, GemvKernel } from '../kernels/gemv';
import { LmHeadKernel } from '../kernels/lm-head';
import { MatmulKernel } from '../kernels/matmul';
import { RmsNormKernel } from '../kernels/rmsnorm';
import { RopeKernel } from '../kernels/rope';
import {
	SamplingKernel,
	penaltySet,
	penaltySetBytes,
	samplingScratchBytes,
	type SamplingParams
} from '../kernels/sampling';
import { GpuMemory, memoryPlan, readF32, type MemoryEntry, type PlanBuffers } from '../memory';
import { KvCache } from './kv-cache';
import { LayerForward, attentionParams, type LayerBuffers, type ProjectionHook } from './layer';
import { isSharedHook } from './projection-hook';
import {
	freeGemma2Weights,
	uploadGemma2Weights,
	type Gemma2GpuWeights,
	type SplitOptions
} from './weights';

export type { SamplingParams } from '../kernels/sampling';
export type { ProjectionHook } from './layer';

export interface EngineOptions {
	/** KV cache capacity in tokens (default config.contextLength). */
	maxTokens?: number;
	/** Tokens per forward chunk (default 128): activations are sized for this many rows. */
	prefillChunk?: number;
	/** Embedding / LM head split (tests force a split on tiny models). */
	embedSplit?: SplitOptions;
	/** Share a GpuMemory (e.g. with the LoRA trainer) instead of owning one. */
	memory?: GpuMemory;
	/**
	 * KV cache storage: 'f32' (default; exact, for parity and training) or 'f16' (packed, half the
	 * memory — Gemma-2 2B at 4096 tokens: 436 MB instead of 872 MB; what chat uses).
	 */
	kvCacheDtype?: 'f32' | 'f16';
}

export interface GenerateOptions {
	maxNewTokens: number;
	/** Stop after emitting one of these (default config.eosIds). The stop id is yielded. */
	stopIds?: number[];
	signal?: AbortSignal;
	/** Seed of the uniform draws (default 0): same seed, same params, same tokens. */
	seed?: number;
	/** Ids the repetition penalty looks at besides the generated ones (default: the prompt). */
	penaltyIds?: number[];
}

/**
 * Tokens generate() keeps in flight: the forward of token n+1 is submitted before token n's id is
 * read, so the GPU never waits for the CPU; the ids are read behind, through this many buffers.
 */
const TOKENS_IN_FLIGHT = 3;

/**
 * The engine's activations, sized for one chunk of C = prefillChunk rows (counts of f32/u32
 * elements): the layer scratch (LayerBuffers, with x2 = x and f = o), decode's merged qkv, the
 * last position's logits and the sampling state. Allocated once, through GpuMemory.allocPlan.
 */
function activationPlan(c: Gemma2Config, C: number) {
	const d = c.hiddenSize;
	const qw = c.numHeads * c.headDim;
	const kvw = c.numKvHeads * c.headDim;
	const I = c.intermediateSize;
	return memoryPlan('act', 'activations', {
		ids: C, // u32
		h: C * d, // residual stream
		x: C * d, // normed input of a block
		q: C * qw,
		qkv: C * (qw + 2 * kvw), // decode: the merged q | k | v projection
		k: C * kvw,
		v: C * kvw,
		a: C * qw, // attention output
		o: C * d, // o_proj / down_proj output
		gate: C * I,
		gateUp: Math.min(C, GEMV_MAX_M) * 2 * I, // decode with a LoRA branch on gate / up: gate | up
		up: C * I,
		act: C * I, // gelu(gate) ⊙ up
		lastH: d,
		lastNormed: d,
		logits: c.vocabSize, // the last position, after the softcap
		seen: penaltySetBytes(c.vocabSize) / 4, // u32 bitset: the ids the repetition penalty applies to
		sampleScratch: samplingScratchBytes(c.vocabSize) / 4, // the sampling passes' state and partials
		token: 1, // u32 sampled id (sample(); generate() samples into ids[0])
		tokenRead: { readback: 1 }
	});
}

/** generate()'s id readbacks: [1] u32 each, a ring of TOKENS_IN_FLIGHT. */
const ID_READS = memoryPlan(
	'act.id_read',
	'activations',
	Object.fromEntries(Array.from({ length: TOKENS_IN_FLIGHT }, (_, i) => [i, { readback: 1 }]))
);

export class Gemma2Engine {
	readonly config: Gemma2Config;
	readonly memory: GpuMemory;
	readonly maxTokens: number;
	readonly prefillChunk: number;
	/** LoRA seam (see ProjectionHook); null = base model. */
	lora: ProjectionHook | null = null;

	private kv: KvCache;
	/** True between releaseKvCache() and restoreKvCache(). */
	private kvReleased = false;
	private readonly kvDtype: 'f32' | 'f16';
	private readonly act: PlanBuffers<ReturnType<typeof activationPlan>>;
	/** act's buffers as the shared layer forward (layer.ts) takes them: x2 = x, f = o. */
	private readonly layerBuffers: LayerBuffers;
	private readonly layer: LayerForward;
	private readonly ownsMemory: boolean;
	private readonly gemv: GemvKernel;
	private readonly rmsnorm: RmsNormKernel;
	private readonly embedding: EmbeddingKernel;
	private readonly rope: RopeKernel;
	private readonly attention: AttentionKernel;
	private readonly lmHead: LmHeadKernel;
	private readonly sampling: SamplingKernel;
	/** Uniform buffers of the forward and sampling encoders, kept across tokens (see UniformSlots). */
	private readonly slots: UniformSlots;
	/** generate()'s id readbacks, MAP_READ [1] u32 each (a ring of TOKENS_IN_FLIGHT). */
	private readonly idReads: GPUBuffer[];
	/** True once the last forward left the last position's logits in act.logits. */
	private hasLogits = false;
	/**
	 * The id at the last cached position, whose logits a discarded speculative token overwrote:
	 * fed again (once) when those logits are asked for.
	 */
	private refeed: number | null = null;
	/** The last id fed (the one at position length − 1). */
	private lastFed: number | null = null;
	private destroyed = false;

	private constructor(
		readonly device: GPUDevice,
		readonly weights: Gemma2GpuWeights,
		memory: GpuMemory,
		ownsMemory: boolean,
		opts: EngineOptions
	) {
		const c = (this.config = weights.config);
		this.memory = memory;
		this.ownsMemory = ownsMemory;
		this.maxTokens = opts.maxTokens ?? c.contextLength;
		this.prefillChunk = Math.max(1, Math.min(opts.prefillChunk ?? 128, this.maxTokens));
		this.gemv = new GemvKernel(device);
		this.rmsnorm = new RmsNormKernel(device);
		this.embedding = new EmbeddingKernel(device);
		this.rope = new RopeKernel(device, memory);
		this.attention = new AttentionKernel(device, { memory: memory });
		const { rmsnorm, rope, attention } = this;
		const kernels = { matmul: new MatmulKernel(device), geluGate: new GeluGateKernel(device) };
		this.layer = new LayerForward(
			c,
			weights,
			{ ...kernels, rmsnorm, rope, attention },
			() => this.lora
		);
		this.lmHead = new LmHeadKernel(device);
		this.sampling = new SamplingKernel(device);
		this.slots = new UniformSlots(device);
		this.kvDtype = opts.kvCacheDtype ?? 'f32';
		this.kv = new KvCache(device, memory, c, this.maxTokens, { dtype: this.kvDtype });

		this.act = memory.allocPlan(activationPlan(c, this.prefillChunk));
		this.idReads = Object.values(memory.allocPlan(ID_READS));
		const { h, x, q, k, v, a, o, gate, up, act } = this.act;
		this.layerBuffers = { h, x, q, k, v, a, o, x2: x, gate, up, act, f: o };
	}

	/** Uploads the weights (through the engine's GpuMemory) and builds the engine. */
	static async create(
		device: GPUDevice,
		weights: Gemma2Weights,
		opts: EngineOptions = {}
	): Promise<Gemma2Engine> {
		const memory = opts.memory ?? new GpuMemory(device);
		device.pushErrorScope('out-of-memory');
		device.pushErrorScope('validation');
		const gpuWeights = uploadGemma2Weights(memory, weights, { embedSplit: opts.embedSplit });
		const engine = new Gemma2Engine(device, gpuWeights, memory, !opts.memory, opts);
		const validation = await device.popErrorScope();
		const oom = await device.popErrorScope();
		if (validation || oom) {
			engine.destroy();
			throw new Error(`Gemma2Engine.create: ${(oom ?? validation)!.message}`, {
				cause: oom ?? validation
			});
		}
		return engine;
	}

	/** Tokens in the KV cache (the position of the next token). */
	get length(): number {
		return this.kv.length;
	}

	/** Forgets the sequence (the KV cache is reused, not reallocated). */
	reset(): void {
		this.kv.reset();
		this.hasLogits = false;
		this.refeed = this.lastFed = null;
	}

	/**
	 * Feeds `ids` after the tokens already in the cache (chunked), leaving the last position's
	 * logits ready for `sample`. prefill(prompt) then, per token, sample() + append([id]).
	 */
	async append(ids: number[]): Promise<void> {
		this.submitForward(ids);
		await this.device.queue.onSubmittedWorkDone();
	}

	/**
	 * Submits the forward of `ids` without waiting: the queue orders it before whatever is
	 * submitted next. `tail` is encoded in the last chunk's compute pass, after its logits, and
	 * `after` on its encoder once that pass has ended (generate() samples and reads the id there).
	 */
	private submitForward(ids: number[], tail?: Tail): void {
		if (ids.length === 0 && tail) this.ensureLogits();
		this.check(ids);
		for (let s = 0; s < ids.length; s += this.prefillChunk) {
			const chunk = ids.slice(s, s + this.prefillChunk);
			const last = s + this.prefillChunk >= ids.length;
			this.submitChunk(chunk, chunk.length, last, last ? tail : undefined);
		}
		if (ids.length === 0 && tail) this.submitChunk(null, 0, false, tail);
		if (ids.length > 0) {
			this.hasLogits = true;
			this.refeed = null;
			this.lastFed = ids[ids.length - 1];
		}
	}

	/**
	 * One command buffer: the forward of T ids at the next positions (`ids` written to act.ids, or
	 * null: act.ids[0] already holds the id, sampled there by the previous token), then `tail`.
	 */
	private submitChunk(ids: number[] | null, T: number, lastLogits: boolean, tail?: Tail): void {
		const enc = this.device.createCommandEncoder({ label: 'gemma2.forward' });
		useUniformSlots(enc, this.slots);
		if (ids) this.device.queue.writeBuffer(this.act.ids, 0, Uint32Array.from(ids));
		beginComputePass(enc, 'gemma2.forward');
		if (T > 0) this.encodeChunk(enc, T, lastLogits);
		tail?.pass(enc);
		endComputePass(enc);
		tail?.after(enc);
		this.device.queue.submit([enc.finish()]);
		this.kv.commit(T);
	}

	/** Same as append: the name for the first call of a sequence. */
	prefill(ids: number[]): Promise<void> {
		return this.append(ids);
	}

	/**
	 * Draws the next token from the last position's logits (GPU-side; one u32 is read back).
	 * `u` ∈ [0, 1) is the uniform draw (ignored when greedy); `prevIds` feed the repetition penalty.
	 */
	async sample(params: SamplingParams, prevIds: number[] = [], u = 0): Promise<number> {
		this.ensureLogits();
		const V = this.config.vocabSize;
		const seen = penaltySet(prevIds, V);
		const usePenalty = (params.repetitionPenalty ?? 1) !== 1 && seen.some((w) => w !== 0);
		if (usePenalty) this.device.queue.writeBuffer(this.act.seen, 0, seen);
		const enc = this.device.createCommandEncoder({ label: 'gemma2.sample' });
		useUniformSlots(enc, this.slots);
		beginComputePass(enc, 'gemma2.sample');
		this.encodeSample(
			enc,
			{ ...params, repetitionPenalty: usePenalty ? params.repetitionPenalty : 1 },
			u,
			this.act.token
		);
		endComputePass(enc);
		enc.copyBufferToBuffer(this.act.token, 0, this.act.tokenRead, 0, 4);
		this.device.queue.submit([enc.finish()]);
		return readId(this.act.tokenRead);
	}

	/** The last position's logits [V] (after the final softcap), read back (tests, debugging). */
	async lastLogits(): Promise<Float32Array> {
		this.ensureLogits();
		return this.read(this.act.logits, this.config.vocabSize);
	}

	/** Throws unless act.logits holds the last position's logits (feeding the refeed id again). */
	private ensureLogits(): void {
		if (!this.hasLogits && this.refeed !== null) {
			const id = this.refeed;
			this.kv.length -= 1;
			this.submitForward([id]);
		}
		if (!this.hasLogits) throw new Error('Gemma2Engine: no logits yet (call prefill/append first)');
	}

	/** The sampling passes, in the open compute pass: the chosen id → out[0]. */
	private encodeSample(
		enc: GPUCommandEncoder,
		params: SamplingParams,
		u: number,
		out: GPUBuffer | GPUBufferBinding
	): void {
		const { logits, seen, sampleScratch: scratch } = this.act;
		this.sampling.encode(enc, { logits, seen, scratch, out }, this.config.vocabSize, params, u);
	}

	/**
	 * Full logits [T, V] of a fresh sequence (resets the cache first; the sequence stays in it).
	 * For parity tests and the CLI's `forward`: the rows are scored in blocks that fit one binding.
	 */
	async forwardLogits(ids: number[]): Promise<Float32Array> {
		this.check(ids);
		this.reset();
		const c = this.config;
		const V = c.vocabSize;
		const d = c.hiddenSize;
		const maxBinding = Math.min(
			this.device.limits.maxStorageBufferBindingSize,
			this.device.limits.maxBufferSize
		);
		const block = Math.max(1, Math.min(this.prefillChunk, Math.floor(maxBinding / (V * 4))));
		const out = new Float32Array(ids.length * V);
		const scratch = this.memory.allocPlan(
			memoryPlan('forward', 'scratch', { logits: block * V, normed: block * d, hBlock: block * d })
		);
		const { logits, normed, hBlock } = scratch;
		try {
			for (let s = 0; s < ids.length; s += this.prefillChunk) {
				const chunk = ids.slice(s, s + this.prefillChunk);
				this.submitChunk(chunk, chunk.length, false);
				for (let r = 0; r < chunk.length; r += block) {
					const R = Math.min(block, chunk.length - r);
					const enc = this.device.createCommandEncoder({ label: 'gemma2.lm_head' });
					enc.copyBufferToBuffer(this.act.h, r * d * 4, hBlock, 0, R * d * 4);
					this.lmHead.encode(
						enc,
						{
							h: hBlock,
							normed,
							finalNorm: this.weights.finalNorm,
							embed: this.weights.embed,
							logits
						},
						R,
						c.rmsNormEps,
						c.finalSoftcap
					);
					this.device.queue.submit([enc.finish()]);
					out.set(await this.read(logits, R * V), (s + r) * V);
				}
			}
			// Leave the last position's logits ready, as append() does.
			const enc = this.device.createCommandEncoder();
			enc.copyBufferToBuffer(
				logits,
				(((ids.length - 1) % this.prefillChunk) % block) * V * 4,
				this.act.logits,
				0,
				V * 4
			);
			this.device.queue.submit([enc.finish()]);
			this.hasLogits = ids.length > 0;
			this.lastFed = ids.at(-1) ?? null;
		} finally {
			for (const b of Object.values(scratch)) this.memory.free(b);
		}
		return out;
	}

	/**
	 * Continues `ids` (appended after what the cache holds — reset() first for a fresh prompt)
	 * and yields each new token as soon as it is read. Stops after a stop id (yielded), after
	 * maxNewTokens, when the cache is full, or when `signal` aborts.
	 *
	 * Pipelined: each token's command buffer is its forward, its sampling (into act.ids[0], which
	 * the next token's embedding reads) and a copy of the id to a readback buffer. Up to
	 * TOKENS_IN_FLIGHT tokens are submitted before the oldest id is read, so the CPU never holds
	 * the GPU up; tokens past a stop are discarded when it is read.
	 *
	 * Cache contract (chat turns reuse the cache): however it ends — stop id, maxNewTokens, abort,
	 * full cache, or the consumer breaking out of the loop — the cache then holds `ids` and every
	 * yielded token except the last one, and `length` says so.
	 */
	async *generate(
		ids: number[],
		params: SamplingParams,
		opts: GenerateOptions
	): AsyncGenerator<number, void, void> {
		const stop = new Set(opts.stopIds ?? this.config.eosIds);
		const random = mulberry32(opts.seed ?? 0);
		if ((params.repetitionPenalty ?? 1) !== 1)
			this.device.queue.writeBuffer(
				this.act.seen,
				0,
				penaltySet(opts.penaltyIds ?? ids, this.config.vocabSize)
			);
		const before = this.lastFed;
		const pending: Promise<number>[] = [];
		const out: number[] = [];
		// Token k is sampled by step k; step k ≥ 1 feeds token k − 1 (GPU-side) at position base + k − 1.
		let base = 0;
		let steps = 0;
		const step = () => {
			const read = this.idReads[steps % TOKENS_IN_FLIGHT];
			const tail: Tail = {
				pass: (enc) => this.encodeSample(enc, params, random(), this.idSlot),
				after: (enc) => enc.copyBufferToBuffer(this.act.ids, 0, read, 0, 4)
			};
			if (steps === 0) {
				this.submitForward(ids, tail);
				base = this.length;
			} else {
				this.check([], 1);
				this.submitChunk(null, 1, true, tail);
			}
			steps++;
			const id = readId(read);
			id.catch(() => undefined); // a lost device rejects every read; the awaited one reports it
			pending.push(id);
		};
		if (opts.maxNewTokens <= 0) return this.submitForward(ids);
		try {
			step();
			for (let n = 0; ; n++) {
				if (opts.signal?.aborted) return;
				while (
					pending.length < TOKENS_IN_FLIGHT &&
					steps < opts.maxNewTokens &&
					base + steps - 1 < this.maxTokens
				)
					step();
				const id = await pending.shift()!;
				out.push(id);
				yield id;
				if (stop.has(id) || base + n >= this.maxTokens || opts.signal?.aborted) return;
				if (n + 1 >= opts.maxNewTokens) return;
			}
		} finally {
			// Reads still in flight must finish (their buffers are reused); the tokens they carry
			// were never yielded, so the cache forgets them.
			await Promise.allSettled(pending);
			if (steps > 0) this.keepGenerated(base, ids, out, before);
		}
	}

	/** After generate: the cache keeps the prompt and the yielded tokens but the last. */
	private keepGenerated(base: number, ids: number[], out: number[], before: number | null): void {
		const keep = base + Math.max(0, out.length - 1);
		this.lastFed =
			out.length >= 2 ? out[out.length - 2] : ids.length ? ids[ids.length - 1] : before;
		if (this.kv.length > keep) {
			this.kv.length = keep;
			this.hasLogits = false;
			this.refeed = this.lastFed;
		}
	}

	/** act.ids[0]: where generate() samples each id, for the next token's embedding to read. */
	private get idSlot(): GPUBufferBinding {
		return { buffer: this.act.ids, offset: 0, size: 4 };
	}

	/**
	 * Where the GPU memory goes: one entry per buffer, totals per purpose, and `describe`, the
	 * same in one line by group of buffers (GpuMemory.describe).
	 */
	memoryReport(): {
		entries: MemoryEntry[];
		byPurpose: ReturnType<GpuMemory['byPurpose']>;
		current: number;
		peak: number;
		describe: string;
	} {
		return {
			entries: this.memory.report(),
			byPurpose: this.memory.byPurpose(),
			current: this.memory.current,
			peak: this.memory.peak,
			describe: this.memory.describe()
		};
	}

	/**
	 * Frees the KV cache (Gemma-2 2B chat: 436 MB at 4,096 f16 tokens) for as long as something
	 * else needs the memory more — LoRA training over these weights (Gemma2Backward keeps its own
	 * activations and never reads the cache). Until restoreKvCache(), every forward throws; the
	 * weights, activations and LoRA seam stay.
	 */
	releaseKvCache(): void {
		if (this.destroyed || this.kvReleased) return;
		this.kv.destroy();
		this.kvReleased = true;
		this.hasLogits = false;
		this.refeed = this.lastFed = null;
	}

	/** Allocates the KV cache again (empty) after releaseKvCache(). */
	restoreKvCache(): void {
		if (this.destroyed || !this.kvReleased) return;
		this.kv = new KvCache(this.device, this.memory, this.config, this.maxTokens, {
			dtype: this.kvDtype
		});
		this.kvReleased = false;
	}

	/** Whether the KV cache is released (see releaseKvCache). */
	get kvCacheReleased(): boolean {
		return this.kvReleased;
	}

	destroy(): void {
		if (this.destroyed) return;
		this.destroyed = true;
		for (const b of [...Object.values(this.act), ...this.idReads]) this.memory.free(b);
		this.kv.destroy();
		this.attention.destroy();
		this.rope.destroy();
		this.slots.destroy();
		freeGemma2Weights(this.memory, this.weights);
		if (this.ownsMemory) this.memory.freeAll();
	}

	// ---------------------------------------------------------------------------------------------

	private check(ids: number[], T = ids.length): void {
		if (this.destroyed) throw new Error('Gemma2Engine: used after destroy()');
		if (this.kvReleased)
			throw new Error(
				'Gemma2Engine: the KV cache is released (training holds its memory); restoreKvCache() first'
			);
		for (const id of ids)
			if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize)
				throw new Error(`token id ${id} out of range`);
		if (this.kv.length + T > this.maxTokens)
			throw new Error(
				`sequence of ${this.kv.length + T} tokens exceeds the KV cache (${this.maxTokens})`
			);
	}

	/**
	 * act.ids [T ≤ prefillChunk] at positions length.. → act.h [T, d] after the last layer; KV
	 * written. In the open compute pass: embedding, every layer (KV appends included), LM head.
	 */
	private encodeChunk(enc: GPUCommandEncoder, T: number, lastLogits: boolean): void {
		// 1. h = E[ids] · √d  (f32-rounded normalizer, as HF casts it to the activation dtype)
		this.embedding.encode(
			enc,
			this.act.ids,
			this.weights.embed,
			this.act.h,
			T,
			Math.fround(Math.sqrt(this.config.hiddenSize))
		);
		if (T <= GEMV_MAX_M && (!this.lora || isSharedHook(this.lora)) && this.config.headDim % 4 === 0)
			this.encodeDecodeLayers(enc, T, lastLogits);
		else {
			const opts = { pos0: this.kv.length, cache: this.kv };
			for (let L = 0; L < this.config.numLayers; L++)
				this.layer.encode(enc, L, T, this.layerBuffers, opts);
			if (lastLogits) this.encodeLastLogits(enc, T);
		}
	}

	/**
	 * Every layer for a few tokens (decode), the dispatches fused (the same maths as LayerForward,
	 * which prefill and scoring use; per layer, 8 dispatches instead of 17):
	 *
	 *   x = RMSNorm_input(h)                                          (before layer 0 only)
	 *   per layer:  qkv = x [Wq; Wk; Wv]ᵀ                             one GEMV, three weights
	 *               RoPE(q, k), cache ← k, v                          rope_kv
	 *               a = attention(q, cache)                           (2: main + combine)
	 *               o = a Woᵀ
	 *               h += RMSNorm_post_attn(o);  x = RMSNorm_pre_ffn(h)            rmsnorm_residual
	 *               act = gelu(x Wgᵀ) ⊙ x Wuᵀ                        one GEMV, gelu epilogue
	 *               o = act Wdᵀ
	 *               h += RMSNorm_post_ffn(o);  x = RMSNorm_next(h)   (next: input norm of L+1,
	 *                                                                  or the final norm)
	 *   logits = softcap(x[T−1] Eᵀ)                                   softcap in the GEMV epilogue
	 *
	 * With a LoRA adapter (a SharedProjectionHook), one branch dispatch per adapted group follows
	 * its GEMV: q | k | v into the merged qkv rows, o, down; for gate | up the GEMV stores both
	 * (x [Wg; Wu]ᵀ → gateUp) and the branch dispatch adds the branches and applies the gelu-gate —
	 * at most 12 dispatches per layer.
	 *
	 * h is the residual stream as LayerForward leaves it (forwardLogits scores it).
	 */
	private encodeDecodeLayers(enc: GPUCommandEncoder, T: number, lastLogits: boolean): void {
		const c = this.config;
		const { h, x, q, qkv, a, o, act, gateUp } = this.act;
		const d = c.hiddenSize;
		const eps = c.rmsNormEps;
		const pos0 = this.kv.length;
		const layers = this.weights.layers;
		const lora = isSharedHook(this.lora) ? this.lora : null;
		const qw = c.numHeads * c.headDim;
		const kvw = c.numKvHeads * c.headDim;
		const I = c.intermediateSize;
		this.rmsnorm.encode(enc, h, layers[0].inputNorm, x, T, d, eps);
		for (let L = 0; L < c.numLayers; L++) {
			const lw = layers[L];
			this.gemv.encodeMerged(enc, x, [lw.proj.q_proj, lw.proj.k_proj, lw.proj.v_proj], qkv, T);
			const ld = qw + 2 * kvw;
			lora?.encodeShared(
				enc,
				L,
				QKV,
				x,
				[0, qw, qw + kvw].map((col) => ({ buffer: qkv, ld, col })),
				T
			);
			this.rope.encodeKv(
				enc,
				{ qkv, q, kCache: this.kv.k(L), vCache: this.kv.v(L) },
				{
					T,
					heads: c.numHeads,
					kvHeads: c.numKvHeads,
					hd: c.headDim,
					theta: c.ropeTheta,
					pos0,
					cacheDtype: this.kv.dtype
				}
			);
			this.encodeAttention(enc, L, T, pos0);
			this.gemv.encode(enc, a, lw.proj.o_proj, o, T);
			lora?.encodeShared(enc, L, ['o_proj'], a, [{ buffer: o }], T);
			this.rmsnorm.encodeResidual(
				enc,
				{ o, wa: lw.postAttnNorm, h, wb: lw.preFfnNorm, x },
				T,
				d,
				eps
			);
			if (lora?.adapts(L, GATE_UP)) {
				this.gemv.encodeMerged(enc, x, [lw.proj.gate_proj, lw.proj.up_proj], gateUp, T);
				const outs = [0, I].map((col) => ({ buffer: gateUp, ld: 2 * I, col }));
				lora.encodeShared(enc, L, GATE_UP, x, outs, T, act);
			} else this.gemv.encodeGeluGate(enc, x, lw.proj.gate_proj, lw.proj.up_proj, act, T);
			this.gemv.encode(enc, act, lw.proj.down_proj, o, T);
			lora?.encodeShared(enc, L, ['down_proj'], act, [{ buffer: o }], T);
			const next = L + 1 < c.numLayers ? layers[L + 1].inputNorm : this.weights.finalNorm;
			this.rmsnorm.encodeResidual(enc, { o, wa: lw.postFfnNorm, h, wb: next, x }, T, d, eps);
		}
		if (!lastLogits) return;
		// x holds RMSNorm_final(h): the LM head reads its last row.
		const offset = (T - 1) * d * 4;
		let last: GPUBuffer = x;
		if (offset > 0) {
			endComputePass(enc);
			enc.copyBufferToBuffer(x, offset, this.act.lastNormed, 0, d * 4);
			beginComputePass(enc, 'gemma2.lm_head');
			last = this.act.lastNormed;
		}
		const { embed } = this.weights;
		this.lmHead.encodeHead(enc, last, embed, this.act.logits, 1, c.finalSoftcap);
	}

	/**
	 * act.h row T−1 → act.logits [V] = softcap(RMSNorm_final(h) Eᵀ), in the open compute pass: the
	 * row is bound in place when its offset meets the device's alignment, else copied (the pass is
	 * split around the copy).
	 */
	private encodeLastLogits(enc: GPUCommandEncoder, T: number): void {
		const c = this.config;
		const d = c.hiddenSize;
		const offset = (T - 1) * d * 4;
		let h: GPUBufferBinding = { buffer: this.act.h, offset, size: d * 4 };
		if (offset % this.device.limits.minStorageBufferOffsetAlignment !== 0) {
			endComputePass(enc);
			enc.copyBufferToBuffer(this.act.h, offset, this.act.lastH, 0, d * 4);
			beginComputePass(enc, 'gemma2.lm_head');
			h = { buffer: this.act.lastH };
		}
		this.lmHead.encode(
			enc,
			{
				h,
				normed: this.act.lastNormed,
				finalNorm: this.weights.finalNorm,
				embed: this.weights.embed,
				logits: this.act.logits
			},
			1,
			c.rmsNormEps,
			c.finalSoftcap
		);
	}

	/** act.a = attention(act.q, layer L's cache rows 0 .. pos0 + T − 1). */
	private encodeAttention(enc: GPUCommandEncoder, L: number, T: number, pos0: number): void {
		const p = attentionParams(this.config, L, T, pos0, this.kv.dtype);
		this.attention.encode(
			enc,
			{ q: this.act.q, k: this.kv.k(L), v: this.kv.v(L), out: this.act.a },
			p
		);
	}

	private read(buf: GPUBuffer, floats: number): Promise<Float32Array> {
		return readF32(this.device, buf, floats, 'readback');
	}
}

const QKV: readonly ProjectionName[] = ['q_proj', 'k_proj', 'v_proj'];
const GATE_UP: readonly ProjectionName[] = ['gate_proj', 'up_proj'];

/** What generate() adds to a token's command buffer: in its compute pass, then after it. */
interface Tail {
	pass(enc: GPUCommandEncoder): void;
	after(enc: GPUCommandEncoder): void;
}

/** Maps a [1] u32 MAP_READ buffer and reads the id. */
async function readId(buffer: GPUBuffer): Promise<number> {
	await buffer.mapAsync(GPUMapMode.READ);
	const id = new Uint32Array(buffer.getMappedRange())[0];
	buffer.unmap();
	return id;
}
