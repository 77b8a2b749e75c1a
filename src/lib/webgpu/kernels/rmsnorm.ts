/**
 * RMSNorm (multiplier form): x [T, C] → y [T, C] = x · rsqrt(mean(x²) + eps) · w, or y += that.
 * x and y must be different buffers; with `residual`, y = residual + that (the accumulate mode
 * reading the residual stream from one buffer and writing it to another, rmsnorm_add).
 * `encodeResidual` is Gemma-2's block boundary in one pass (h += RMSNorm_a(o), then
 * x = RMSNorm_b(h)). `encodeBackward` is the gradient with respect to x (the norm weight is
 * frozen): dy, x → dx, or dx += that.
 */
import { ComputeKernel, UniformLayout } from '../kernel';
import { KernelBindings, type BoundBuffer } from '../kernel-bindings';
import rmsnorm from './rmsnorm.wgsl?raw';

/** From this many rows on, a row gets 64 threads instead of 256 (RMS_THREADS in rmsnorm.wgsl). */
const MANY_ROWS = 16;

/** rmsnorm.wgsl's Params (every entry point). */
export const RMSNORM_PARAMS = new UniformLayout('Params', [
	['T', 'u32'],
	['C', 'u32'],
	['eps', 'f32'],
	['accumulate', 'u32']
] as const);

/** rmsnorm.wgsl's bindings, per entry point. */
export const RMSNORM_BINDINGS = new KernelBindings('rmsnorm', {
	rmsnorm_forward: { x: 'read', w: 'read', y: 'read_write', p: RMSNORM_PARAMS },
	rmsnorm_add: {
		ad_x: 'read',
		ad_w: 'read',
		ad_res: 'read',
		ad_y: 'read_write',
		ad_p: RMSNORM_PARAMS
	},
	rmsnorm_residual: {
		rr_o: 'read',
		rr_wa: 'read',
		rr_h: 'read_write',
		rr_wb: 'read',
		rr_x: 'read_write',
		rr_p: RMSNORM_PARAMS
	},
	rmsnorm_backward: {
		bw_dy: 'read',
		bw_x: 'read',
		bw_w: 'read',
		bw_dx: 'read_write',
		bw_p: RMSNORM_PARAMS
	}
});
const code = RMSNORM_BINDINGS.wgsl + rmsnorm;

type Entry = 'rmsnorm_forward' | 'rmsnorm_add' | 'rmsnorm_residual' | 'rmsnorm_backward';
type Binding = BoundBuffer;

export class RmsNormKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	private readonly maxWorkgroups: number;
	constructor(readonly device: GPUDevice) {
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	encode(
		enc: GPUCommandEncoder,
		x: Binding,
		w: GPUBuffer,
		y: GPUBuffer,
		T: number,
		C: number,
		eps: number,
		opts: { accumulate?: boolean; residual?: GPUBuffer } = {}
	): void {
		if (opts.residual) {
			const b = { ad_x: x, ad_w: w, ad_res: opts.residual, ad_y: y };
			this.run(enc, 'rmsnorm_add', RMSNORM_BINDINGS.order('rmsnorm_add', b), T, C, eps);
			return;
		}
		const buffers = RMSNORM_BINDINGS.order('rmsnorm_forward', { x, w, y });
		this.run(enc, 'rmsnorm_forward', buffers, T, C, eps, opts.accumulate);
	}

	/**
	 * o, h [T, C], wa, wb [C]: h += RMSNorm_a(o) (in place), then x = RMSNorm_b(h) — a post-norm's
	 * residual add and the next pre-norm in one dispatch. x, o and h must be distinct.
	 */
	encodeResidual(
		enc: GPUCommandEncoder,
		b: { o: GPUBuffer; wa: GPUBuffer; h: GPUBuffer; wb: GPUBuffer; x: GPUBuffer },
		T: number,
		C: number,
		eps: number
	): void {
		const buffers = RMSNORM_BINDINGS.order('rmsnorm_residual', {
			rr_o: b.o,
			rr_wa: b.wa,
			rr_h: b.h,
			rr_wb: b.wb,
			rr_x: b.x
		});
		this.run(enc, 'rmsnorm_residual', buffers, T, C, eps);
	}

	/**
	 * dy [T, C], x [T, C] (the forward's input), w [C] → dx [T, C] = ∂(dy·y)/∂x, or dx += that
	 * (a residual stream's gradient collecting a branch). dx must differ from dy and x.
	 */
	encodeBackward(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		x: GPUBuffer,
		w: GPUBuffer,
		dx: GPUBuffer,
		T: number,
		C: number,
		eps: number,
		opts: { accumulate?: boolean } = {}
	): void {
		const buffers = RMSNORM_BINDINGS.order('rmsnorm_backward', {
			bw_dy: dy,
			bw_x: x,
			bw_w: w,
			bw_dx: dx
		});
		this.run(enc, 'rmsnorm_backward', buffers, T, C, eps, opts.accumulate);
	}

	/** One workgroup per row: 256 threads for a few rows, 64 for many (the rows fill the GPU). */
	private run(
		enc: GPUCommandEncoder,
		entryPoint: Entry,
		buffers: Binding[],
		T: number,
		C: number,
		eps: number,
		accumulate = false
	): void {
		if (T > this.maxWorkgroups)
			throw new Error(`rmsnorm: ${T} rows exceed one dispatch; chunk the rows`);
		const RMS_THREADS = T >= MANY_ROWS ? 64 : 256;
		const key = `${entryPoint}:${RMS_THREADS}`;
		let kernel = this.kernels.get(key);
		if (!kernel) {
			const constants = { RMS_THREADS };
			kernel = new ComputeKernel(this.device, { label: 'rmsnorm', code, entryPoint, constants });
			this.kernels.set(key, kernel);
		}
		const params = RMSNORM_PARAMS.pack({ T, C, eps, accumulate: accumulate ? 1 : 0 });
		kernel.dispatch(enc, buffers, [T], params);
	}
}
