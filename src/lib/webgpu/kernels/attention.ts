/**
 * Gemma-2 attention over the KV cache (see attention.wgsl for the maths and the tiling).
 *
 *   q [T, H, hd] (positions pos0 .. pos0 + T − 1), k/v cache [maxTokens, KV, hd] holding keys
 *   0 .. pos0 + T − 1  →  out [T, H·hd]
 *
 * Softcap before the mask, causal mask, optional sliding window (j > i − window), GQA, f32
 * online softmax. One call covers decode (T = 1) and prefill chunks (T ≤ a few hundred, pos0 > 0
 * for later chunks). The key range is split over several workgroups when the (row-tile × kv-head)
 * grid alone would leave the GPU idle — always the case in decode — and a second small pass merges
 * the splits. The scratch for those partials is owned here and grows on demand.
 *
 * Backward (LoRA training, `encodeBackward`): over one sequence's own q, k, v (pos0 = 0, no cache),
 * recomputing the probabilities from q, k and each row's log-sum-exp, which the forward leaves
 * behind when it is given a `stats` buffer (see attention.wgsl).
 */
import { kernelPaths } from '../device';
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import { KernelBindings } from '../kernel-bindings';
import type { GpuMemory } from '../memory';
import attention from './attention.wgsl?raw';

/** Threads per workgroup of both passes; must match WORKGROUP_SIZE in attention.wgsl. */
const WORKGROUP_SIZE = 64;
/** Largest head_dim the kernel holds in workgroup memory; must match MAX_HD in attention.wgsl. */
export const ATTENTION_MAX_HEAD_DIM = 256;
/**
 * Workgroups one call aims for before it stops splitting the key range: enough to fill a
 * laptop-to-desktop GPU (tens of compute units × a few resident workgroups each).
 */
const TARGET_WORKGROUPS = 256;
/** Most key splits per call (bounds the partials scratch and the combine pass's loop). */
const MAX_SPLITS = 64;

/** attention.wgsl's Params (forward, combine and backward). */
export const ATTENTION_PARAMS = new UniformLayout('Params', [
	['T', 'u32'],
	['pos0', 'u32'],
	['heads', 'u32'],
	['kv_heads', 'u32'],
	['hd', 'u32'],
	['group', 'u32'],
	['window', 'u32'],
	['key_lo', 'u32'],
	['keys_per_split', 'u32'],
	['num_splits', 'u32'],
	['scale', 'f32'],
	['softcap', 'f32'],
	['keep_stats', 'u32']
] as const);

/** attention.wgsl's StoreParams (kv_store_*). */
export const KV_STORE_PARAMS = new UniformLayout('StoreParams', [
	['words', 'u32'],
	['dst_offset', 'u32']
] as const);

/** Bindings 0–4, shared by the forward and the backward entry points. */
const SHARED = {
	q: 'read',
	/** The cache as raw 32-bit words: one f32 each, or two packed f16 (see load_k4 / load_v4). */
	k: 'read u32',
	v: 'read u32',
	/**
	 * Forward, one split: out [T, H, hd]; otherwise the partial acc [splits, T, H, hd]. Backward:
	 * da [T, H·hd], only read (so it must not share a buffer with another binding).
	 */
	dst: 'read_write',
	/**
	 * Forward: partial (m, l) [splits, T, H, 2]; with one split, the rows' (m, l) when keep_stats
	 * = 1. Backward: those rows' (m, l), turned into (lse, delta) by attention_bwd_dq.
	 */
	ml: 'read_write'
} as const;

/** attention.wgsl's bindings, per entry point. */
export const ATTENTION_BINDINGS = new KernelBindings('attention', {
	attention_main: { ...SHARED, p: ATTENTION_PARAMS },
	attention_combine: {
		partial: 'read',
		part_ml: 'read',
		out: 'read_write',
		cp: ATTENTION_PARAMS
	},
	kv_store_f16: { store_src: 'read', store_dst: 'read_write u32', sp: KV_STORE_PARAMS },
	kv_store_f32: { store_src: 'read', store_dst: 'read_write u32', sp: KV_STORE_PARAMS },
	/** dq: bout0 = dq, ba = the forward's output a. */
	attention_bwd_dq: { ...SHARED, bout0: 'read_write', ba: 'read', bwd_p: ATTENTION_PARAMS },
	/** dkv: bout0 = dk, bout1 = dv. */
	attention_bwd_dkv: {
		...SHARED,
		bout0: 'read_write',
		bout1: 'read_write',
		bwd_p: ATTENTION_PARAMS
	}
});

const code = ATTENTION_BINDINGS.wgsl + attention;
/** The f16-tile variant of attention.wgsl (see its `tile_t`): one line differs. */
const F16_TILE_CODE = `enable f16;\n${code.replace('alias tile_t = f32;', 'alias tile_t = f16;')}`;
if (F16_TILE_CODE.length !== code.length + 'enable f16;\n'.length)
	throw new Error('attention.wgsl: the `alias tile_t = f32;` line is missing');

export interface AttentionBuffers {
	/** [T, H, hd] */
	q: GPUBuffer;
	/** Cache [maxTokens, KV, hd]; rows 0 .. pos0 + T − 1 valid. */
	k: GPUBuffer;
	v: GPUBuffer;
	/** [T, H·hd] */
	out: GPUBuffer;
	/**
	 * [T, H, 2] f32: receives every row's softmax statistics (m, l) for encodeBackward. The key
	 * range is then never split (a training sequence has rows enough to fill the GPU).
	 */
	stats?: GPUBuffer;
}

export interface AttentionParams {
	T: number;
	/** Position of the first query row (= cache length before this chunk's append). */
	pos0: number;
	heads: number;
	kvHeads: number;
	hd: number;
	/** query_pre_attn_scalar^-0.5 */
	scale: number;
	/** attn_logit_softcapping; 0 = none. */
	softcap: number;
	/** sliding_window on sliding layers; 0 = global (causal only). */
	window: number;
	/** Element format of the k/v cache buffers (KvCache.dtype); default 'f32'. */
	cacheDtype?: KvCacheDtype;
}

export interface AttentionBackwardBuffers {
	/** [T, H, hd], [T, KV, hd], [T, KV, hd]: the forward's inputs (q, k after RoPE). */
	q: GPUBuffer;
	k: GPUBuffer;
	v: GPUBuffer;
	/** [T, H·hd]: the forward's output a, and the gradient of it. */
	out: GPUBuffer;
	da: GPUBuffer;
	/** Outputs (overwritten): [T, H, hd], [T, KV, hd], [T, KV, hd]. */
	dq: GPUBuffer;
	dk: GPUBuffer;
	dv: GPUBuffer;
	/** [T, H, 2] f32: the forward's (m, l) per query row (encode with `stats`); left holding (lse, Σ_j p·dp). */
	stats: GPUBuffer;
}

/** 'f16': element pairs packed in u32 words with pack2x16float (see kv_store_f16 in attention.wgsl). */
export type KvCacheDtype = 'f32' | 'f16';

export interface AttentionOptions {
	/** Workgroups to aim for before splitting stops (default 256); 1 = never split (tests). */
	targetWorkgroups?: number;
	/** Force the small tiles (16 KiB of workgroup memory) even on a device allowing 32 KiB. */
	smallTiles?: boolean;
	/**
	 * Element type of the forward's workgroup tiles (query rows, K/V blocks); scores, softmax and
	 * accumulation are f32 either way. Default: the device's kernel path (device.ts kernelPaths),
	 * 'f16' where it has shader-f16. A forward keeping `stats` for the backward always runs f32.
	 * f16 rounds q, k and v to 11 significant bits: see ATTENTION_F16_BOUND.
	 */
	storage?: 'f16' | 'f32';
	/** Where the split scratch is allocated and counted (purpose 'scratch'); without one, privately. */
	memory?: GpuMemory;
}

/**
 * Worst error of the f16-tile forward against exact attention, as stated and tested: with q, k
 * rounded to f16 (relative 2^-11 each) a score moves by at most δ = 2^-10·scale·Σ_c|q_c·k_c| (the
 * softcap only shrinks it), which moves every probability by a factor within e^{±2δ}; v rounded
 * to f16 adds 2^-11·|v|. So |a − exact| ≤ ((e^{2δ} − 1) + 2^-11)·max|v|, plus f32 rounding.
 */
export function attentionF16Bound(maxScoreAbsSum: number, scale: number, maxAbsV: number): number {
	const delta = 2 ** -10 * scale * maxScoreAbsSum;
	return (Math.expm1(2 * delta) + 2 ** -11) * maxAbsV + 1e-5;
}

export class AttentionKernel {
	/** attention_main per cache format and tile storage, compiled on first use. */
	private readonly main = new Map<string, ComputeKernel>();
	private readonly combine: ComputeKernel;
	private readonly bwdDq: ComputeKernel;
	private readonly bwdDkv: ComputeKernel;
	/** The forward's tile storage (AttentionOptions.storage). */
	readonly storage: 'f16' | 'f32';
	/** Query rows per workgroup tile and keys per block of that storage (override constants of attention.wgsl). */
	readonly qRows: number;
	readonly keyBlock: number;
	/** Whether the device allows the 32 KiB tiles. */
	private readonly big: boolean;
	/** The backward's tiles: query rows × keys (BQ, BK in attention.wgsl). */
	readonly bwdRows: number;
	readonly bwdKeys: number;
	private readonly targetWorkgroups: number;
	private partial: GPUBuffer | null = null;
	private partialMl: GPUBuffer | null = null;
	/** Outgrown scratch, possibly still referenced by encoded-but-unsubmitted work: freed in destroy(). */
	private retired: GPUBuffer[] = [];
	private readonly memory?: GpuMemory;

	constructor(
		readonly device: GPUDevice,
		options: AttentionOptions = {}
	) {
		this.memory = options.memory;
		const big = !options.smallTiles && device.limits.maxComputeWorkgroupStorageSize >= 32768;
		this.big = big;
		this.storage = options.storage ?? kernelPaths(device).storage;
		if (this.storage === 'f16' && !device.features.has('shader-f16'))
			throw new Error('attention: f16 tiles need a device with shader-f16');
		({ qRows: this.qRows, keyBlock: this.keyBlock } = this.tiles(this.storage));
		this.targetWorkgroups = options.targetWorkgroups ?? TARGET_WORKGROUPS;
		this.mainKernel('f32', this.storage);
		this.combine = new ComputeKernel(device, {
			label: 'attention',
			code,
			entryPoint: 'attention_combine'
		});
		// backward tiles: 8 query rows × 8 keys in 32 KiB (≈ 25 KB), 4 × 4 in 16 KiB (≈ 12.6 KB)
		this.bwdRows = big ? 8 : 4;
		this.bwdKeys = big ? 8 : 4;
		const bwd = (entryPoint: string) =>
			new ComputeKernel(device, {
				label: 'attention',
				code,
				entryPoint,
				constants: { QROWS: this.bwdRows, KEY_BLOCK: this.bwdKeys }
			});
		this.bwdDq = bwd('attention_bwd_dq');
		this.bwdDkv = bwd('attention_bwd_dkv');
	}

	/**
	 * Backward of `out = attention(q, k, v)` over one sequence (positions 0 .. T−1, keys = this
	 * sequence's own k, v in f32): da → dq, dk, dv. GQA: dk, dv of a kv head sum over its query
	 * heads. Parameters as the forward's (pos0 and cacheDtype are ignored: 0 and 'f32').
	 */
	encodeBackward(
		enc: GPUCommandEncoder,
		b: AttentionBackwardBuffers,
		p: Omit<AttentionParams, 'pos0' | 'cacheDtype'>
	): void {
		const { T, heads: H, kvHeads: KV, hd } = p;
		if (T === 0) return;
		if (hd > ATTENTION_MAX_HEAD_DIM)
			throw new Error(`attention: head_dim ${hd} > ${ATTENTION_MAX_HEAD_DIM}`);
		if (H % KV !== 0) throw new Error(`attention: ${KV} kv heads do not divide ${H} heads`);
		if (b.stats.size < T * H * 8) throw new Error('attention backward: stats buffer < [T, H, 2]');
		const params = packParams({ ...p, pos0: 0 }, { keyLo: 0, keysPerSplit: T, splits: 1 }, false);
		const rows = T * H;
		if (b.out.size < rows * hd * 4) throw new Error('attention backward: out buffer < [T, H, hd]');
		// dq first: it also turns each query row's (m, l) into (lse, delta), which dkv reads
		const tiles = ceilDiv(T * (H / KV), this.bwdRows);
		const keyBlocks = ceilDiv(T, this.bwdKeys);
		const maxX = this.device.limits.maxComputeWorkgroupsPerDimension;
		if (tiles > maxX || keyBlocks > maxX)
			throw new Error(`attention backward: ${T} tokens exceed one dispatch`);
		const shared = { q: b.q, k: b.k, v: b.v, dst: b.da, ml: b.stats };
		const dq = ATTENTION_BINDINGS.order('attention_bwd_dq', { ...shared, bout0: b.dq, ba: b.out });
		const dkv = ATTENTION_BINDINGS.order('attention_bwd_dkv', {
			...shared,
			bout0: b.dk,
			bout1: b.dv
		});
		this.bwdDq.dispatch(enc, dq, [tiles, KV], params);
		this.bwdDkv.dispatch(enc, dkv, [keyBlocks, KV], params);
	}

	encode(enc: GPUCommandEncoder, bufs: AttentionBuffers, p: AttentionParams): void {
		const { T, pos0, heads: H, kvHeads: KV, hd } = p;
		if (T === 0) return;
		if (hd % 4 !== 0) throw new Error(`attention: head_dim ${hd} must be a multiple of 4`);
		if (hd > ATTENTION_MAX_HEAD_DIM)
			throw new Error(`attention: head_dim ${hd} > ${ATTENTION_MAX_HEAD_DIM}`);
		if (H % KV !== 0) throw new Error(`attention: ${KV} kv heads do not divide ${H} heads`);
		const kvLen = pos0 + T;
		const dtype = p.cacheDtype ?? 'f32';
		const cacheBytes = kvLen * KV * hd * (dtype === 'f16' ? 2 : 4);
		if (bufs.k.size < cacheBytes || bufs.v.size < cacheBytes)
			throw new Error(`attention: cache buffers hold fewer than pos0 + T = ${kvLen} rows`);
		if (bufs.q.size < T * H * hd * 4 || bufs.out.size < T * H * hd * 4)
			throw new Error(`attention: q/out buffers are smaller than [${T}, ${H}, ${hd}]`);
		const group = H / KV;
		const window = p.window > 0 ? p.window : 0;
		// the backward recomputes this forward's probabilities in f32: keep it f32 too
		const storage = bufs.stats ? 'f32' : this.storage;
		const { qRows, keyBlock } = this.tiles(storage);

		// Lowest key any query of this call can see; splits cover [keyLo, kvLen).
		const keyLo = window > 0 ? Math.max(0, pos0 + 1 - window) : 0;
		const nKeys = kvLen - keyLo;
		const tiles = ceilDiv(T * group, qRows);
		const wanted = bufs.stats ? 1 : Math.max(1, ceilDiv(this.targetWorkgroups, tiles * KV));
		let splits = Math.min(wanted, MAX_SPLITS, ceilDiv(nKeys, keyBlock));
		const keysPerSplit = ceilDiv(ceilDiv(nKeys, splits), keyBlock) * keyBlock;
		splits = ceilDiv(nKeys, keysPerSplit);

		const rows = T * H;
		if (bufs.stats && bufs.stats.size < rows * 8)
			throw new Error(`attention: stats buffer is smaller than [${T}, ${H}, 2]`);
		const scratch = this.scratch(
			splits > 1 ? splits * rows * hd * 4 : 16,
			splits > 1 ? splits * rows * 8 : 16
		);
		const params = packParams(p, { keyLo, keysPerSplit, splits }, !!bufs.stats);
		this.mainKernel(dtype, storage).dispatch(
			enc,
			ATTENTION_BINDINGS.order('attention_main', {
				q: bufs.q,
				k: bufs.k,
				v: bufs.v,
				dst: splits > 1 ? scratch.partial : bufs.out,
				ml: bufs.stats ?? scratch.ml
			}),
			[tiles, KV, splits],
			params
		);
		if (splits > 1) {
			const maxX = this.device.limits.maxComputeWorkgroupsPerDimension;
			const gx = Math.min(rows, maxX);
			this.combine.dispatch(
				enc,
				ATTENTION_BINDINGS.order('attention_combine', {
					partial: scratch.partial,
					part_ml: scratch.ml,
					out: bufs.out
				}),
				[gx, ceilDiv(rows, gx)],
				params
			);
		}
	}

	/** Bytes of split scratch currently held. */
	scratchBytes(): number {
		return (this.partial?.size ?? 0) + (this.partialMl?.size ?? 0);
	}

	destroy(): void {
		for (const b of [this.partial, this.partialMl, ...this.retired])
			if (this.memory) this.memory.free(b);
			else b?.destroy();
		this.partial = this.partialMl = null;
		this.retired = [];
	}

	/**
	 * Forward tiles. f32 — 32 KiB: 8 rows × 16 keys (25 KB); the 16 KiB WebGPU default: 4 × 8
	 * (12.5 KB). f16 tiles take half the memory, so twice the keys: 8 × 32 (21.7 KB), 4 × 16 (10.6 KB).
	 */
	private tiles(storage: 'f16' | 'f32'): { qRows: number; keyBlock: number } {
		const keys = this.big ? 16 : 8;
		return { qRows: this.big ? 8 : 4, keyBlock: storage === 'f16' ? 2 * keys : keys };
	}

	private mainKernel(dtype: KvCacheDtype, storage: 'f16' | 'f32'): ComputeKernel {
		const key = `${dtype}:${storage}`;
		let kernel = this.main.get(key);
		if (!kernel) {
			const { qRows, keyBlock } = this.tiles(storage);
			kernel = new ComputeKernel(this.device, {
				label: storage === 'f16' ? 'attention-f16' : 'attention',
				code: storage === 'f16' ? F16_TILE_CODE : code,
				entryPoint: 'attention_main',
				constants: { QROWS: qRows, KEY_BLOCK: keyBlock, CACHE_F16: dtype === 'f16' ? 1 : 0 }
			});
			this.main.set(key, kernel);
		}
		return kernel;
	}

	private scratch(partialBytes: number, mlBytes: number): { partial: GPUBuffer; ml: GPUBuffer } {
		const grow = (cur: GPUBuffer | null, bytes: number, label: string): GPUBuffer => {
			if (cur && cur.size >= bytes) return cur;
			if (cur) this.retired.push(cur);
			const size = Math.max(16, Math.ceil(bytes / 16) * 16);
			return this.memory
				? this.memory.alloc(label, size, GPUBufferUsage.STORAGE, 'scratch')
				: this.device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE });
		};
		this.partial = grow(this.partial, partialBytes, 'attention.partial');
		this.partialMl = grow(this.partialMl, mlBytes, 'attention.partial_ml');
		return { partial: this.partial, ml: this.partialMl };
	}
}

/** attention.wgsl's Params, for the forward (splits as planned) and the backward (one split, pos0 0). */
function packParams(
	p: Omit<AttentionParams, 'cacheDtype'>,
	split: { keyLo: number; keysPerSplit: number; splits: number },
	keepStats: boolean
): ArrayBuffer {
	return ATTENTION_PARAMS.pack({
		T: p.T,
		pos0: p.pos0,
		heads: p.heads,
		kv_heads: p.kvHeads,
		hd: p.hd,
		group: p.heads / p.kvHeads,
		window: p.window > 0 ? p.window : 0,
		key_lo: split.keyLo,
		keys_per_split: split.keysPerSplit,
		num_splits: split.splits,
		scale: p.scale,
		softcap: p.softcap > 0 ? p.softcap : 0,
		keep_stats: keepStats ? 1 : 0
	});
}

/**
 * Appends rows to a KV cache: src [T, KV·hd] f32 → rows row0 .. row0 + T − 1 of the cache, stored
 * as f16 pairs packed in u32 words [maxTokens, KV·hd/2] ('f16', the format AttentionKernel reads
 * with cacheDtype 'f16') or as the f32 values themselves [maxTokens, KV·hd] ('f32'). A dispatch,
 * not a copy: it stays inside an open compute pass.
 */
export class KvStoreKernel {
	private readonly kernel: ComputeKernel;
	private readonly entryPoint: 'kv_store_f16' | 'kv_store_f32';
	/** Elements per stored u32 word. */
	private readonly perWord: number;

	constructor(
		readonly device: GPUDevice,
		readonly dtype: KvCacheDtype
	) {
		this.perWord = dtype === 'f16' ? 2 : 1;
		this.entryPoint = dtype === 'f16' ? 'kv_store_f16' : 'kv_store_f32';
		this.kernel = new ComputeKernel(device, {
			label: 'attention',
			code,
			entryPoint: this.entryPoint
		});
	}

	/** rowElems = KV · hd (even). */
	encode(
		enc: GPUCommandEncoder,
		src: GPUBuffer,
		cache: GPUBuffer,
		row0: number,
		T: number,
		rowElems: number
	): void {
		const words = (T * rowElems) / this.perWord;
		if (words === 0) return;
		const groups = ceilDiv(words, WORKGROUP_SIZE);
		const gx = Math.min(groups, this.device.limits.maxComputeWorkgroupsPerDimension);
		this.kernel.dispatch(
			enc,
			ATTENTION_BINDINGS.order(this.entryPoint, { store_src: src, store_dst: cache }),
			[gx, ceilDiv(groups, gx)],
			KV_STORE_PARAMS.pack({ words, dst_offset: (row0 * rowElems) / this.perWord })
		);
	}
}
