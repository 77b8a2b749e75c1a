/**
 * The LoRA branch y += s·B(A x̃) of one projection and its backward (see lora.wgsl for the maths).
 *
 *   x [T, IN], y / dy [T, OUT], A [R, IN], B [OUT, R], u / g scratch [T, R] (R ≤ LORA_MAX_RANK = 1024)
 *
 * Buffers may be GPUBufferBindings (A, B, dA, dB live at offsets inside one flat LoRA buffer).
 * Everything is encoded through ComputeKernel, so it may run inside an open compute pass (the
 * engine's ProjectionHook contract); dispatch order makes u / g visible to the next step.
 */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import code from './lora.wgsl?raw';

/** Threads per workgroup (WG in lora.wgsl). */
const WG = 256;
/**
 * Threads per output of lora_down / lora_dy_b (KS in lora.wgsl): 64 when the outputs are few
 * (decode: T·R < 1024), else 8 over a long sum (prefill and training of real models), 1 over a
 * short one (≤ 512 terms: tiny models, where more threads only cost).
 */
function slicesPerOutput(outputs: number, sumLength: number): ReduceSlices {
	if (outputs < 1024) return 64;
	return sumLength > 512 ? 8 : 1;
}
type ReduceSlices = 1 | 8 | 64;
const SLICES: ReduceSlices[] = [1, 8, 64];
type ReduceEntry = 'lora_down' | 'lora_dy_b';
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

/** One thread per output: dispatched directly (the two reductions go through reduceOverRank). */
const ENTRY_POINTS = ['lora_up', 'lora_grad_b', 'lora_grad_a', 'lora_grad_x'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

export class LoraKernel {
	private readonly kernels: Record<EntryPoint, ComputeKernel>;
	/** lora_down / lora_dy_b, one pipeline per KS. */
	private readonly reducers = new Map<`${ReduceEntry}/${ReduceSlices}`, ComputeKernel>();
	private readonly maxWorkgroups: number;

	constructor(readonly device: GPUDevice) {
		const kernel = (entryPoint: string, constants?: Record<string, number>) =>
			new ComputeKernel(device, { label: 'lora', code, entryPoint, constants });
		this.kernels = Object.fromEntries(ENTRY_POINTS.map((e) => [e, kernel(e)])) as Record<
			EntryPoint,
			ComputeKernel
		>;
		for (const e of ['lora_down', 'lora_dy_b'] as const)
			for (const KS of SLICES) this.reducers.set(`${e}/${KS}`, kernel(e, { KS }));
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	/** lora_down / lora_dy_b: T·R outputs, split over KS threads each (1-D grid, 2-D past the limit). */
	private reduceOverRank(
		enc: GPUCommandEncoder,
		e: ReduceEntry,
		buffers: Bindable[],
		s: LoraShape,
		params: ArrayBuffer
	): void {
		const outputs = s.T * s.R;
		const KS = slicesPerOutput(outputs, e === 'lora_down' ? s.IN : s.OUT);
		const groups = ceilDiv(outputs, WG / KS);
		const x = Math.min(groups, this.maxWorkgroups);
		const y = ceilDiv(groups, x);
		if (y > this.maxWorkgroups)
			throw new Error(`lora.${e}: ${outputs} outputs exceed one dispatch`);
		this.reducers.get(`${e}/${KS}`)!.dispatch(enc, buffers, [x, y], params);
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
		this.reduceOverRank(enc, 'lora_down', [b.x, b.A, b.u], s, params);
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
		this.reduceOverRank(enc, 'lora_down', [b.x, b.A, b.u], s, params);
		this.reduceOverRank(enc, 'lora_dy_b', [b.dy, b.B, b.g], s, params);
		this.dispatch(enc, 'lora_grad_b', [b.dy, b.u, b.dB], [ceilDiv(s.OUT * s.R, WG)], params);
		this.dispatch(enc, 'lora_grad_a', [b.g, b.x, b.dA], [ceilDiv(s.IN, WG), s.R], params);
		if (b.dx) this.dispatch(enc, 'lora_grad_x', [b.g, b.A, b.dx], [ceilDiv(s.IN, WG), s.T], params);
	}
}
