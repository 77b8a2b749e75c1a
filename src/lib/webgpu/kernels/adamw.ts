/**
 * AdamW over every LoRA parameter on the GPU, with the global gradient norm and
 * clip_grad_norm_ (see adamw.wgsl for the maths; reference/adamw.ts is its float64 oracle).
 *
 *   segments  [(params, grads, floats)]: the flat buffers of GpuLoraAdapter (any flat f32 arrays)
 *   m, v      the same shapes, owned here ('optimizer' memory)
 *   partials  one f32 per block of BLOCK elements of every segment; norm = [total, clip coef]
 *
 * encodeStep encodes: Σg² per block → total norm and clip coefficient → the update of every
 * segment. Nothing is read back unless asked (readGradNorm, for logging).
 */
import { readF32 } from '../memory';
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import type { GpuMemory } from '../memory';
import { KernelBindings } from '../kernel-bindings';
import adamw from './adamw.wgsl?raw';

const WG = 256;
/** Elements summed per thread in the first pass (a block is WG · PER_THREAD elements). */
const PER_THREAD = 16;
const BLOCK = WG * PER_THREAD;
/** Read lazily, so the module can be imported where WebGPU is absent (Node tests). */
const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** adamw.wgsl's NormParams (sumsq_partial, sumsq_final). */
export const ADAMW_NORM_PARAMS = new UniformLayout('NormParams', [
	['n', 'u32'],
	['per_thread', 'u32'],
	['partial_base', 'u32'],
	['count', 'u32'],
	['max_norm', 'f32']
] as const);

/** adamw.wgsl's StepParams (adamw_step). */
export const ADAMW_STEP_PARAMS = new UniformLayout('StepParams', [
	['n', 'u32'],
	['decay', 'f32'],
	['one_minus_beta1', 'f32'],
	['beta2', 'f32'],
	['one_minus_beta2', 'f32'],
	['eps', 'f32'],
	['step_size', 'f32'],
	['bc2_sqrt', 'f32']
] as const);

/** adamw.wgsl's bindings, per entry point. */
export const ADAMW_BINDINGS = new KernelBindings('adamw', {
	sumsq_partial: { grads_r: 'read', partials_w: 'read_write', np: ADAMW_NORM_PARAMS },
	/** norm_w: [total_norm, clip_coef]. */
	sumsq_final: { partials_r: 'read', norm_w: 'read_write', np: ADAMW_NORM_PARAMS },
	adamw_step: {
		p_w: 'read_write',
		g_r: 'read',
		m_w: 'read_write',
		v_w: 'read_write',
		norm_r: 'read',
		sp: ADAMW_STEP_PARAMS
	}
});
const code = ADAMW_BINDINGS.wgsl + adamw;

export interface AdamWSegment {
	params: GPUBuffer;
	grads: GPUBuffer;
	/** Elements (f32) of params / grads used. */
	floats: number;
}

/** torch.optim.AdamW's hyper-parameters for one step, plus the Trainer's max_grad_norm. */
export interface AdamWStepHyper {
	lr: number;
	beta1: number;
	beta2: number;
	eps: number;
	weightDecay: number;
	/** ≤ 0: no clipping (the norm is still computed, for logging). */
	maxGradNorm: number;
}

/** The optimizer's state, host side (checkpoints): torch's state['step'], exp_avg, exp_avg_sq. */
export interface AdamWHostState {
	step: number;
	m: Float32Array[];
	v: Float32Array[];
}

export class AdamWOptimizer {
	/** Optimizer steps taken (torch's state['step'] after the last step). */
	step = 0;
	private readonly m: GPUBuffer[];
	private readonly v: GPUBuffer[];
	private readonly partials: GPUBuffer;
	private readonly partialBase: number[] = [];
	private readonly blocks: number[] = [];
	private readonly totalPartials: number;
	private readonly norm: GPUBuffer;
	private readonly kPartial: ComputeKernel;
	private readonly kFinal: ComputeKernel;
	private readonly kStep: ComputeKernel;
	private readonly maxWorkgroups: number;
	private destroyed = false;

	constructor(
		readonly device: GPUDevice,
		readonly memory: GpuMemory,
		readonly segments: AdamWSegment[]
	) {
		this.m = segments.map((s, i) =>
			memory.alloc(`adamw.exp_avg.${i}`, s.floats * 4, storage(), 'optimizer')
		);
		this.v = segments.map((s, i) =>
			memory.alloc(`adamw.exp_avg_sq.${i}`, s.floats * 4, storage(), 'optimizer')
		);
		let base = 0;
		for (const s of segments) {
			this.partialBase.push(base);
			const b = Math.max(1, ceilDiv(s.floats, BLOCK));
			this.blocks.push(b);
			base += b;
		}
		this.totalPartials = base;
		this.partials = memory.alloc('adamw.norm_partials', base * 4, storage(), 'optimizer');
		this.norm = memory.alloc('adamw.norm', 2 * 4, storage(), 'optimizer');
		const k = (entryPoint: string) =>
			new ComputeKernel(device, { label: 'adamw', code, entryPoint });
		this.kPartial = k('sumsq_partial');
		this.kFinal = k('sumsq_final');
		this.kStep = k('adamw_step');
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	/** A 2-D grid of at least n workgroups (the kernels guard the excess). */
	private grid(n: number): [number, number] {
		const x = Math.max(1, Math.min(n, this.maxWorkgroups));
		return [x, ceilDiv(n, x)];
	}

	/**
	 * Global L2 norm of all gradients → norm buffer [total, clip coefficient] (torch's
	 * clip_grad_norm_: coef = min(max_norm / (total + 1e-6), 1); 1 when max_norm ≤ 0).
	 */
	encodeGradNorm(enc: GPUCommandEncoder, maxGradNorm: number): void {
		this.segments.forEach((s, i) => {
			const params = ADAMW_NORM_PARAMS.pack({
				n: s.floats,
				per_thread: PER_THREAD,
				partial_base: this.partialBase[i],
				count: this.blocks[i],
				max_norm: 0
			});
			const buffers = ADAMW_BINDINGS.order('sumsq_partial', {
				grads_r: s.grads,
				partials_w: this.partials
			});
			this.kPartial.dispatch(enc, buffers, this.grid(this.blocks[i]), params);
		});
		const params = ADAMW_NORM_PARAMS.pack({
			n: 0,
			per_thread: 0,
			partial_base: 0,
			count: this.totalPartials,
			max_norm: maxGradNorm > 0 ? maxGradNorm : 0
		});
		const buffers = ADAMW_BINDINGS.order('sumsq_final', {
			partials_r: this.partials,
			norm_w: this.norm
		});
		this.kFinal.dispatch(enc, buffers, [1], params);
	}

	/** One optimizer step: gradient norm, clipping, AdamW on every segment. */
	encodeStep(enc: GPUCommandEncoder, h: AdamWStepHyper): void {
		if (this.destroyed) throw new Error('AdamWOptimizer: used after destroy()');
		this.encodeGradNorm(enc, h.maxGradNorm);
		this.step += 1;
		// bias corrections in float64, as torch computes them from Python floats
		const bc1 = 1 - h.beta1 ** this.step;
		const bc2 = 1 - h.beta2 ** this.step;
		this.segments.forEach((s, i) => {
			const params = ADAMW_STEP_PARAMS.pack({
				n: s.floats,
				decay: 1 - h.lr * h.weightDecay,
				one_minus_beta1: 1 - h.beta1,
				beta2: h.beta2,
				one_minus_beta2: 1 - h.beta2,
				eps: h.eps,
				step_size: h.lr / bc1,
				bc2_sqrt: Math.sqrt(bc2)
			});
			const buffers = ADAMW_BINDINGS.order('adamw_step', {
				p_w: s.params,
				g_r: s.grads,
				m_w: this.m[i],
				v_w: this.v[i],
				norm_r: this.norm
			});
			this.kStep.dispatch(enc, buffers, this.grid(ceilDiv(s.floats, WG)), params);
		});
	}

	/** [total gradient norm before clipping, clip coefficient] of the last encoded norm. */
	async readGradNorm(): Promise<{ norm: number; coef: number }> {
		const [norm, coef] = await this.read(this.norm, 2);
		return { norm, coef };
	}

	async exportState(): Promise<AdamWHostState> {
		return {
			step: this.step,
			m: await Promise.all(this.m.map((b, i) => this.read(b, this.segments[i].floats))),
			v: await Promise.all(this.v.map((b, i) => this.read(b, this.segments[i].floats)))
		};
	}

	importState(s: AdamWHostState): void {
		if (s.m.length !== this.m.length || s.m.some((m, i) => m.length !== this.segments[i].floats))
			throw new Error('AdamWOptimizer.importState: the state has another layout');
		this.step = s.step;
		s.m.forEach((m, i) => this.device.queue.writeBuffer(this.m[i], 0, m));
		s.v.forEach((v, i) => this.device.queue.writeBuffer(this.v[i], 0, v));
	}

	get gpuBytes(): number {
		return this.segments.reduce((n, s) => n + 8 * s.floats, 0) + 4 * this.totalPartials + 8;
	}

	destroy(): void {
		if (this.destroyed) return;
		this.destroyed = true;
		for (const b of [...this.m, ...this.v, this.partials, this.norm]) this.memory.free(b);
	}

	private read(buf: GPUBuffer, floats: number): Promise<Float32Array> {
		return readF32(this.device, buf, floats, 'adamw.readback');
	}
}
