/**
 * The KV cache of one Gemma-2 sequence: post-RoPE keys and values of every layer, on the GPU.
 *
 *   k(layer), v(layer): [maxTokens, KV, hd] f32 (or packed f16, below), rows 0 .. length − 1 valid
 *
 * A forward over T new tokens (positions length .. length + T − 1) appends each layer's k/v
 * rows with encodeAppend — before that layer's attention, which reads rows 0 .. length + T − 1
 * — and calls commit(T) once after the last layer. `length` is therefore the position of the next
 * token. Sliding layers keep every row too (a ring buffer of `sliding_window` rows would save
 * memory only past 4096 tokens, beyond the studio's context).
 *
 * Memory: 2 · layers · maxTokens · KV · hd · 4 bytes (Gemma-2 2B at 4096 tokens: 872 MB), one
 * buffer per layer and tensor, allocated once through GpuMemory with purpose 'kv-cache'.
 *
 * `dtype: 'f16'` halves that (436 MB): rows are stored as f16 pairs packed in u32 words
 * (pack2x16float, no shader-f16 needed) by a small kernel instead of a copy, and attention must
 * be told (`cacheDtype: cache.dtype`). The softmax and the accumulation stay f32; only the stored
 * k/v lose precision (relative 2^-11 per element), as the spec allows for KV.
 */
import type { Gemma2Config } from '../../model/config';
import { KvStoreKernel, type KvCacheDtype } from '../kernels/attention';
import type { GpuMemory } from '../memory';

export interface KvCacheOptions {
	/** Stored element format; default 'f32'. */
	dtype?: KvCacheDtype;
}

export class KvCache {
	/** Tokens committed: the position the next token will take. */
	length = 0;
	private readonly keys: GPUBuffer[] = [];
	private readonly values: GPUBuffer[] = [];
	readonly dtype: KvCacheDtype;
	/** Bytes of one token's row of one layer's k (or v): KV · hd · (4 for f32, 2 for f16). */
	private readonly rowBytes: number;
	private readonly store: KvStoreKernel;

	constructor(
		readonly device: GPUDevice,
		private readonly memory: GpuMemory,
		readonly config: Gemma2Config,
		readonly maxTokens: number,
		options: KvCacheOptions = {}
	) {
		if (!Number.isInteger(maxTokens) || maxTokens <= 0)
			throw new Error(`KV cache: maxTokens must be a positive integer, got ${maxTokens}`);
		this.dtype = options.dtype ?? 'f32';
		this.rowBytes = config.numKvHeads * config.headDim * (this.dtype === 'f16' ? 2 : 4);
		this.store = new KvStoreKernel(device, this.dtype);
		const size = maxTokens * this.rowBytes;
		if (size > device.limits.maxStorageBufferBindingSize)
			throw new Error(
				`KV cache: one layer of ${maxTokens} tokens needs ${size} bytes, over the device's ` +
					`maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize}`
			);
		const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
		for (let L = 0; L < config.numLayers; L++) {
			this.keys.push(memory.alloc(`kv-cache.k[${L}]`, size, usage, 'kv-cache'));
			this.values.push(memory.alloc(`kv-cache.v[${L}]`, size, usage, 'kv-cache'));
		}
	}

	/** Keys of a layer, [maxTokens, KV, hd] (f16: [maxTokens, KV·hd/2] u32 words). */
	k(layer: number): GPUBuffer {
		return this.layerBuffer(this.keys, layer);
	}

	/** Values of a layer, [maxTokens, KV, hd] (f16: as k). */
	v(layer: number): GPUBuffer {
		return this.layerBuffer(this.values, layer);
	}

	/**
	 * Write T new rows k, v [T, KV, hd] f32 into rows length .. length + T − 1 of a layer: a buffer
	 * copy for f32 (k, v need COPY_SRC), the packing kernel for f16 (k, v need STORAGE). Does not
	 * move `length`: every layer of the same forward appends at the same rows.
	 */
	encodeAppend(enc: GPUCommandEncoder, layer: number, k: GPUBuffer, v: GPUBuffer, T: number): void {
		if (this.length + T > this.maxTokens)
			throw new Error(
				`KV cache full: appending ${T} tokens at position ${this.length} exceeds maxTokens ${this.maxTokens}`
			);
		const rowElems = this.config.numKvHeads * this.config.headDim;
		if (k.size < T * rowElems * 4 || v.size < T * rowElems * 4)
			throw new Error(`KV cache: k/v buffers are smaller than [${T}, ${rowElems}] f32`);
		if (T === 0) return;
		this.store.encode(enc, k, this.k(layer), this.length, T, rowElems);
		this.store.encode(enc, v, this.v(layer), this.length, T, rowElems);
	}

	/** After a whole forward over T tokens: they are now part of the sequence. */
	commit(T: number): void {
		if (this.length + T > this.maxTokens)
			throw new Error(
				`KV cache full: committing ${T} tokens at ${this.length} exceeds maxTokens ${this.maxTokens}`
			);
		this.length += T;
	}

	/** Forget the sequence; the buffers are kept (stale rows are never read past `length`). */
	reset(): void {
		this.length = 0;
	}

	/** Bytes held on the GPU (k and v of all layers). */
	bytes(): number {
		return 2 * this.config.numLayers * this.maxTokens * this.rowBytes;
	}

	destroy(): void {
		for (const b of [...this.keys, ...this.values]) this.memory.free(b);
		this.keys.length = 0;
		this.values.length = 0;
		this.length = 0;
	}

	private layerBuffer(list: GPUBuffer[], layer: number): GPUBuffer {
		const b = list[layer];
		if (!b)
			throw new Error(
				`KV cache: no layer ${layer} (${this.config.numLayers} layers, or destroyed)`
			);
		return b;
	}
}
