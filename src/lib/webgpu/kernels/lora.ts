/**
 * The LoRA branch y += s·B(A x̃) of one projection and its backward (see lora.wgsl for the maths).
 *
 *   x [T, IN], y / dy [T, OUT], A [R, IN], B [OUT, R], u / g scratch [T, R] (R ≤ LORA_MAX_RANK = 1024)
 *
 * Buffers may be GPUBufferBindings (A, B, dA, dB live at offsets inside one flat LoRA buffer).
 * Everything is encoded through ComputeKernel, so it may run inside an open compute pass (the
 * engine's ProjectionHook contract); dispatch order makes u / g visible to the next step.
 */
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import code from './lora.wgsl?raw';

/** Threads per workgroup (WG in lora.wgsl). */
const WG = 256;
/** Ranks per workgroup of lora_weight_grads (GT in lora.wgsl). */
const GRAD_RANKS = 16;
/** Largest rank the kernels take (a mix of adapters adds ranks up; split it beyond this). */
export const LORA_MAX_RANK = 1024;

/** lora.wgsl's Params (every entry point). */
export const LORA_PARAMS = new UniformLayout('Params', [
	['T', 'u32'],
	['IN', 'u32'],
	['OUT', 'u32'],
	['R', 'u32'],
	['scale', 'f32'],
	['dropout', 'f32'],
	['seed', 'u32'],
	['pad', 'u32']
] as const);

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

const ENTRY_POINTS = ['lora_rows_forward', 'lora_rows_backward', 'lora_weight_grads'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

export class LoraKernel {
	private readonly kernels: Record<EntryPoint, ComputeKernel>;
	private readonly maxWorkgroups: number;

	constructor(readonly device: GPUDevice) {
		const kernel = (entryPoint: string) =>
			new ComputeKernel(device, { label: 'lora', code, entryPoint });
		this.kernels = Object.fromEntries(ENTRY_POINTS.map((e) => [e, kernel(e)])) as Record<
			EntryPoint,
			ComputeKernel
		>;
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	/** A 1-D range of workgroups as a grid (2-D past the per-dimension limit). */
	private grid(groups: number, e: string): [number, number] {
		const x = Math.min(groups, this.maxWorkgroups);
		const y = ceilDiv(groups, x);
		if (y > this.maxWorkgroups)
			throw new Error(`lora.${e}: ${groups} workgroups exceed one dispatch`);
		return [x, y];
	}

	private params(s: LoraShape): ArrayBuffer {
		if (s.R < 1 || s.R > LORA_MAX_RANK) throw new Error(`lora: rank ${s.R} out of range`);
		const p = s.dropout ?? 0;
		if (!(p >= 0 && p < 1)) throw new Error(`lora: dropout ${p} must be in [0, 1)`);
		return LORA_PARAMS.pack({
			T: s.T,
			IN: s.IN,
			OUT: s.OUT,
			R: s.R,
			scale: s.scale,
			dropout: p,
			seed: (s.seed ?? 0) >>> 0,
			pad: 0
		});
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
		// x is bound again where the backward binds dy (one reduction routine reads either)
		const buffers = [b.x, b.A, b.x, b.B, b.u, b.y];
		this.dispatch(enc, 'lora_rows_forward', buffers, this.grid(s.T, 'lora_rows_forward'), params);
	}

	/**
	 * From dy [T, OUT] and the forward's input x: u = x̃ Aᵀ (recomputed), g = dy B and
	 * dx += s·(g A) ⊙ mask (lora_rows_backward), then dB += s·dyᵀu and dA += s·gᵀx̃
	 * (lora_weight_grads): two dispatches.
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
			dx: Bindable;
			u: Bindable;
			g: Bindable;
		},
		s: LoraShape
	): void {
		const params = this.params(s);
		const rows = [b.x, b.A, b.dy, b.B, b.u, b.dx, b.g];
		this.dispatch(enc, 'lora_rows_backward', rows, this.grid(s.T, 'lora_rows_backward'), params);
		const rankBlocks = ceilDiv(s.R, GRAD_RANKS);
		const groups = (ceilDiv(s.IN, WG) + ceilDiv(s.OUT, WG)) * rankBlocks;
		const grads = [b.x, b.dy, b.u, b.g, b.dA, b.dB];
		this.dispatch(enc, 'lora_weight_grads', grads, this.grid(groups, 'lora_weight_grads'), params);
	}
}
