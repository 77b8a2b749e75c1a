/**
 * The LoRA branch y += s·B(A x̃) of one projection and its backward (see lora.wgsl for the maths).
 *
 *   x [T, IN], y / dy [T, OUT], A [R, IN], B [OUT, R], u / g scratch [T, R] (R ≤ 64)
 *
 * Buffers may be GPUBufferBindings (A, B, dA, dB live at offsets inside one flat LoRA buffer).
 * Everything is encoded through ComputeKernel, so it may run inside an open compute pass (the
 * engine's ProjectionHook contract); dispatch order makes u / g visible to the next step.
 */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import code from './lora.wgsl?raw';

/** Threads per workgroup and outputs per reduction workgroup (WG, DOWN_OUTS in lora.wgsl). */
const WG = 256;
const DOWN_OUTS = 4;
/** Largest rank the kernels take (a mix of adapters adds ranks up; split it beyond this). */
export const LORA_MAX_RANK = 1024;

export type Bindable = GPUBuffer | GPUBufferBinding;

export interface LoraShape {
	T: number;
	IN: number;
	OUT: number;
	R: number;
	/** s = alpha / r (or alpha / sqrt(r)). */
	scale: number;
	/** Dropout probability on x (training only; 0 = none) and the mask's seed. */
	dropout?: number;
	seed?: number;
}

const ENTRY_POINTS = [
	'lora_down',
	'lora_up',
	'lora_dy_b',
	'lora_grad_b',
	'lora_grad_a',
	'lora_grad_x'
] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

export class LoraKernel {
	private readonly kernels: Record<EntryPoint, ComputeKernel>;
	private readonly maxWorkgroups: number;

	constructor(readonly device: GPUDevice) {
		this.kernels = Object.fromEntries(
			ENTRY_POINTS.map((e) => [
				e,
				new ComputeKernel(device, { label: 'lora', code, entryPoint: e })
			])
		) as Record<EntryPoint, ComputeKernel>;
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	private params(s: LoraShape): ArrayBuffer {
		if (s.R < 1 || s.R > LORA_MAX_RANK) throw new Error(`lora: rank ${s.R} out of range`);
		const p = s.dropout ?? 0;
		if (!(p >= 0 && p < 1)) throw new Error(`lora: dropout ${p} must be in [0, 1)`);
		return packUniforms([
			['u', s.T],
			['u', s.IN],
			['u', s.OUT],
			['u', s.R],
			['f', s.scale],
			['f', p],
			['u', (s.seed ?? 0) >>> 0],
			['u', 0]
		]);
	}

	private dispatch(
		enc: GPUCommandEncoder,
		e: EntryPoint,
		buffers: Bindable[],
		grid: [number, number?],
		params: ArrayBuffer
	): void {
		if (grid[0] > this.maxWorkgroups || (grid[1] ?? 1) > this.maxWorkgroups)
			throw new Error(`lora.${e}: grid ${grid} exceeds maxComputeWorkgroupsPerDimension`);
		this.kernels[e].dispatch(enc, buffers, grid, params);
	}

	/** u [T, R] = x̃ Aᵀ, then y [T, OUT] += s · u Bᵀ. */
	encodeForward(
		enc: GPUCommandEncoder,
		b: { x: Bindable; A: Bindable; B: Bindable; u: Bindable; y: Bindable },
		s: LoraShape
	): void {
		const params = this.params(s);
		this.dispatch(enc, 'lora_down', [b.x, b.A, b.u], [ceilDiv(s.R, DOWN_OUTS), s.T], params);
		this.dispatch(enc, 'lora_up', [b.u, b.B, b.y], [ceilDiv(s.OUT, WG), s.T], params);
	}

	/**
	 * From dy [T, OUT] and the forward's input x: g = dy B, u = x̃ Aᵀ (recomputed), then
	 * dB += s·dyᵀu, dA += s·gᵀx̃ and dx += s·(g A) ⊙ mask (dx omitted when null).
	 */
	encodeBackward(
		enc: GPUCommandEncoder,
		b: {
			x: Bindable;
			dy: Bindable;
			A: Bindable;
			B: Bindable;
			dA: Bindable;
			dB: Bindable;
			dx: Bindable | null;
			u: Bindable;
			g: Bindable;
		},
		s: LoraShape
	): void {
		const params = this.params(s);
		this.dispatch(enc, 'lora_down', [b.x, b.A, b.u], [ceilDiv(s.R, DOWN_OUTS), s.T], params);
		this.dispatch(enc, 'lora_dy_b', [b.dy, b.B, b.g], [ceilDiv(s.R, DOWN_OUTS), s.T], params);
		this.dispatch(enc, 'lora_grad_b', [b.dy, b.u, b.dB], [ceilDiv(s.OUT * s.R, WG)], params);
		this.dispatch(enc, 'lora_grad_a', [b.g, b.x, b.dA], [ceilDiv(s.IN, WG), s.R], params);
		if (b.dx) this.dispatch(enc, 'lora_grad_x', [b.g, b.A, b.dx], [ceilDiv(s.IN, WG), s.T], params);
	}
}
