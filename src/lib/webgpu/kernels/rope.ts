/**
 * RoPE on the GPU, in place (see rope.wgsl for the maths).
 *
 *   x [T, heads, hd] f32  →  x rotated by the angles of positions pos0 .. pos0 + T − 1
 *
 * Precision (matches HF's float32 path, not the float64 reference's angle):
 * - inv_freq[k] = 1 / theta^(2k/hd) is computed here on the CPU with f32 rounding at each step,
 *   exactly like HF (`1.0 / base ** (arange(0, dim, 2).float() / dim)`), and uploaded once per
 *   (theta, hd) — WGSL's pow is far less accurate than that.
 * - angle = f32(pos) · inv_freq[k], one correctly rounded f32 product, as HF's f32 matmul of
 *   inv_freq and positions gives. At pos 8192 this product is ±2.4e-4 rad from the exact angle:
 *   that is HF's behaviour, and we keep it (the float64 reference `ropeForward` uses the exact
 *   product, so it differs from both at large positions by up to that much).
 * - cos/sin of that f32 angle are computed accurately in the shader (own range reduction and
 *   polynomials; the WGSL builtins make no accuracy promise beyond [−π, π]).
 */
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import { KernelBindings, type BoundBuffer } from '../kernel-bindings';
import type { GpuMemory } from '../memory';
import type { KvCacheDtype } from './attention';
import rope from './rope.wgsl?raw';

/** Threads per workgroup (the WORKGROUP_SIZE override of rope.wgsl). */
const WORKGROUP_SIZE = 64;

/** inv_freq[k] = theta^(−2k/hd) with HF's float32 rounding at every step. */
export function ropeInvFreq(theta: number, hd: number): Float32Array {
	const f = Math.fround;
	const out = new Float32Array(hd / 2);
	for (let k = 0; k < hd / 2; k++) out[k] = f(1 / f(f(theta) ** f((2 * k) / hd)));
	return out;
}

export interface RopeShape {
	T: number;
	heads: number;
	hd: number;
	theta: number;
	/** Position of the first row. */
	pos0: number;
}

/** rope.wgsl's Params (rope_forward, rope_backward) and KvParams (rope_kv). */
export const ROPE_PARAMS = new UniformLayout('Params', [
	['T', 'u32'],
	['heads', 'u32'],
	['hd', 'u32'],
	['pos0', 'u32']
] as const);
export const ROPE_KV_PARAMS = new UniformLayout('KvParams', [
	['T', 'u32'],
	['heads', 'u32'],
	['kv_heads', 'u32'],
	['hd', 'u32'],
	['pos0', 'u32']
] as const);

/** rope.wgsl's bindings, per entry point (inv_freq: the buffer this kernel uploads per (theta, hd)). */
export const ROPE_BINDINGS = new KernelBindings('rope', {
	rope_forward: { x: 'read_write', inv_freq: 'read', p: ROPE_PARAMS },
	rope_backward: { x: 'read_write', inv_freq: 'read', p: ROPE_PARAMS },
	rope_kv: {
		kv_qkv: 'read',
		kv_inv_freq: 'read',
		kv_q: 'read_write',
		/** The cache as raw 32-bit words (f32, or f16 pairs). */
		kv_k: 'read_write u32',
		kv_v: 'read_write u32',
		kp: ROPE_KV_PARAMS
	}
});
const code = ROPE_BINDINGS.wgsl + rope;

type RopeArgs = [T: number, heads: number, hd: number, theta: number, pos0: number];

/** Buffers of `encodeKv`: the merged projection in, rotated q and the layer's cache out. */
export interface RopeKvBuffers {
	/** [T, (heads + 2·kvHeads)·hd]: q | k | v of each token. */
	qkv: GPUBuffer;
	/** [T, heads, hd] */
	q: GPUBuffer;
	/** The layer's cache [maxTokens, kvHeads·hd] (f32, or f16 pairs: KvCache's format). */
	kCache: GPUBuffer;
	vCache: GPUBuffer;
}

export class RopeKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	/** One small inv_freq buffer per (theta, hd), uploaded on first use. */
	private readonly invFreq = new Map<string, GPUBuffer>();

	/** `memory`: where the frequency tables are allocated and counted; without one, privately. */
	constructor(
		readonly device: GPUDevice,
		private readonly memory?: GpuMemory
	) {}

	/** In place on x [T, heads, hd]: rotate rows at positions pos0 .. pos0 + T − 1. */
	encode(enc: GPUCommandEncoder, x: GPUBuffer, ...[T, heads, hd, theta, pos0]: RopeArgs): void {
		const buffers = ROPE_BINDINGS.order('rope_forward', {
			x,
			inv_freq: this.invFreqBuffer(theta, hd)
		});
		this.rotate(enc, 'rope_forward', buffers, ROPE_PARAMS.pack({ T, heads, hd, pos0 }), T, hd);
	}

	/** Backward, in place on dy [T, heads, hd] → dx = dy·cos + Rᵀ(dy·sin) (the inverse rotation). */
	encodeBackward(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		...[T, heads, hd, theta, pos0]: RopeArgs
	): void {
		const buffers = ROPE_BINDINGS.order('rope_backward', {
			x: dy,
			inv_freq: this.invFreqBuffer(theta, hd)
		});
		this.rotate(enc, 'rope_backward', buffers, ROPE_PARAMS.pack({ T, heads, hd, pos0 }), T, hd);
	}

	/**
	 * Decode's RoPE + KV append in one dispatch: q and k of `qkv` rotated, q to `q`, k and v to
	 * cache rows pos0 .. pos0 + T − 1 (see rope_kv in rope.wgsl). head_dim must be a multiple of 4.
	 */
	encodeKv(
		enc: GPUCommandEncoder,
		b: RopeKvBuffers,
		s: RopeShape & { kvHeads: number; cacheDtype: KvCacheDtype }
	): void {
		if (s.hd % 4 !== 0) throw new Error(`rope_kv needs head_dim % 4 == 0, got ${s.hd}`);
		const entry = s.cacheDtype === 'f16' ? 'rope_kv:f16' : 'rope_kv';
		const { T, heads, hd, pos0 } = s;
		const params = ROPE_KV_PARAMS.pack({ T, heads, kv_heads: s.kvHeads, hd, pos0 });
		const buffers = ROPE_BINDINGS.order('rope_kv', {
			kv_qkv: b.qkv,
			kv_inv_freq: this.invFreqBuffer(s.theta, hd),
			kv_q: b.q,
			kv_k: b.kCache,
			kv_v: b.vCache
		});
		this.rotate(enc, entry, buffers, params, T, hd);
	}

	destroy(): void {
		for (const b of this.invFreq.values())
			if (this.memory) this.memory.free(b);
			else b.destroy();
		this.invFreq.clear();
	}

	private kernel(entry: string): ComputeKernel {
		let k = this.kernels.get(entry);
		if (!k) {
			const [entryPoint, f16] = entry.split(':');
			const constants: Record<string, number> = { WORKGROUP_SIZE };
			if (entryPoint === 'rope_kv') constants.KV_F16 = f16 ? 1 : 0;
			k = new ComputeKernel(this.device, { label: 'rope', code, entryPoint, constants });
			this.kernels.set(entry, k);
		}
		return k;
	}

	/** One thread per token and frequency pair (rope_kv: two pairs). */
	private rotate(
		enc: GPUCommandEncoder,
		entry: string,
		buffers: BoundBuffer[],
		params: ArrayBuffer,
		T: number,
		hd: number
	): void {
		if (hd % 2 !== 0) throw new Error(`RoPE needs an even head_dim, got ${hd}`);
		if (T === 0) return;
		const perToken = entry.startsWith('rope_kv') ? hd / 4 : hd / 2;
		const groups = ceilDiv(T * perToken, WORKGROUP_SIZE);
		// Spread over y when one dimension is not enough (the shader linearises x + y·width).
		const maxX = this.device.limits.maxComputeWorkgroupsPerDimension;
		const gx = Math.min(groups, maxX);
		const gy = ceilDiv(groups, gx);
		this.kernel(entry).dispatch(enc, buffers, [gx, gy], params);
	}

	private invFreqBuffer(theta: number, hd: number): GPUBuffer {
		const key = `${theta}:${hd}`;
		let buf = this.invFreq.get(key);
		if (!buf) {
			const data = ropeInvFreq(theta, hd);
			const label = `rope.inv_freq(theta=${theta}, hd=${hd})`;
			const size = Math.max(16, data.byteLength);
			const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
			buf = this.memory
				? this.memory.alloc(label, size, usage, 'scratch')
				: this.device.createBuffer({ label, size, usage });
			this.device.queue.writeBuffer(buf, 0, data);
			this.invFreq.set(key, buf);
		}
		return buf;
	}
}
