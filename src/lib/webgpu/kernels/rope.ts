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
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import code from './rope.wgsl?raw';

/** Threads per workgroup; must match WORKGROUP_SIZE in rope.wgsl. */
const WORKGROUP_SIZE = 64;

/** inv_freq[k] = theta^(−2k/hd) with HF's float32 rounding at every step. */
export function ropeInvFreq(theta: number, hd: number): Float32Array {
	const f = Math.fround;
	const out = new Float32Array(hd / 2);
	for (let k = 0; k < hd / 2; k++) out[k] = f(1 / f(f(theta) ** f((2 * k) / hd)));
	return out;
}

export class RopeKernel {
	private readonly forward: ComputeKernel;
	private readonly backward: ComputeKernel;
	/** One small inv_freq buffer per (theta, hd), uploaded on first use. */
	private readonly invFreq = new Map<string, GPUBuffer>();

	constructor(readonly device: GPUDevice) {
		this.forward = new ComputeKernel(device, { label: 'rope', code, entryPoint: 'rope_forward' });
		this.backward = new ComputeKernel(device, { label: 'rope', code, entryPoint: 'rope_backward' });
	}

	/** In place on x [T, heads, hd]: rotate rows at positions pos0 .. pos0 + T − 1. */
	encode(
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		T: number,
		heads: number,
		hd: number,
		theta: number,
		pos0: number
	): void {
		this.encodeWith(this.forward, enc, x, T, heads, hd, theta, pos0);
	}

	/** Backward, in place on dy [T, heads, hd] → dx = dy·cos + Rᵀ(dy·sin) (the inverse rotation). */
	encodeBackward(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		T: number,
		heads: number,
		hd: number,
		theta: number,
		pos0: number
	): void {
		this.encodeWith(this.backward, enc, dy, T, heads, hd, theta, pos0);
	}

	destroy(): void {
		for (const b of this.invFreq.values()) b.destroy();
		this.invFreq.clear();
	}

	private encodeWith(
		kernel: ComputeKernel,
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		T: number,
		heads: number,
		hd: number,
		theta: number,
		pos0: number
	): void {
		if (hd % 2 !== 0) throw new Error(`RoPE needs an even head_dim, got ${hd}`);
		if (T === 0) return;
		const pairs = T * (hd / 2);
		const groups = ceilDiv(pairs, WORKGROUP_SIZE);
		// Spread over y when one dimension is not enough (the shader linearises x + y·width).
		const maxX = this.device.limits.maxComputeWorkgroupsPerDimension;
		const gx = Math.min(groups, maxX);
		const gy = ceilDiv(groups, gx);
		kernel.dispatch(
			enc,
			[x, this.invFreqBuffer(theta, hd)],
			[gx, gy],
			packUniforms([
				['u', T],
				['u', heads],
				['u', hd],
				['u', pos0]
			])
		);
	}

	private invFreqBuffer(theta: number, hd: number): GPUBuffer {
		const key = `${theta}:${hd}`;
		let buf = this.invFreq.get(key);
		if (!buf) {
			const data = ropeInvFreq(theta, hd);
			buf = this.device.createBuffer({
				label: `rope.inv_freq(theta=${theta}, hd=${hd})`,
				size: Math.max(16, data.byteLength),
				usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST
			});
			this.device.queue.writeBuffer(buf, 0, data);
			this.invFreq.set(key, buf);
		}
		return buf;
	}
}
