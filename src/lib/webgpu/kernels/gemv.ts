/**
 * GEMV: y = x Wᵀ for a few tokens (decode), one pass over W (see gemv.wgsl).
 *
 *   x [M, K] f32  ·  W [N, K] (f32 or MLC q4)  →  y [M, ldy] (columns yOffset.. of each row)
 *
 * MatmulKernel.encode chooses this shape for M ≤ GEMV_MAX_M and hands it each row slice of the
 * weight (chunks, or parts of chunks bound with offsets); `encode` here covers a whole GpuLinear.
 */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import type { GpuLinear } from './matmul';
import q4 from './q4.wgsl?raw';
import gemv from './gemv.wgsl?raw';

const code = q4 + gemv;

/** Rows per GEMV workgroup (must match GEMV_ROWS in gemv.wgsl). */
export const GEMV_ROWS = 8;
/**
 * Up to this many tokens the GEMV shape is used: each token re-reads W, which costs less than
 * the tiled kernel's mostly-empty 64-token tiles for a handful of rows.
 */
export const GEMV_MAX_M = 4;

/** Rows [row0, row0 + rows) of a weight: its buffers (weight, then q4 scales), bound as given. */
export interface WeightSlice {
	row0: number;
	rows: number;
	buffers: GPUBufferBinding[];
}

export interface GemvOptions {
	/** Row stride of y; default the weight's rows. */
	ldy?: number;
	/** Column of y that row 0 of the weight (or of `rowStart`) goes to; default 0. */
	yOffset?: number;
	/** y += x Wᵀ instead of y = x Wᵀ. */
	accumulate?: boolean;
}

export class GemvKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	private readonly maxWorkgroups: number;

	constructor(readonly device: GPUDevice) {
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	private kernel(kind: GpuLinear['kind'], scaleF16: boolean): ComputeKernel {
		const key = `${kind}:${scaleF16}`;
		let k = this.kernels.get(key);
		if (!k) {
			const constants = kind === 'q4' ? { SCALE_F16: scaleF16 ? 1 : 0 } : undefined;
			k = new ComputeKernel(this.device, {
				label: 'gemv',
				code,
				entryPoint: `gemv_${kind}`,
				constants
			});
			this.kernels.set(key, k);
		}
		return k;
	}

	/** y[:, yOffset + chunk rows] (+)= x Wᵀ for every chunk of W. x is [M, W.cols]. */
	encode(
		enc: GPUCommandEncoder,
		x: GPUBuffer | GPUBufferBinding,
		w: GpuLinear,
		y: GPUBuffer,
		M: number,
		opts: GemvOptions = {}
	): void {
		const slices = w.chunks.map((c) => ({
			row0: c.rowStart,
			rows: c.rows,
			buffers: [c.weight, ...(c.scales ? [c.scales] : [])].map((buffer) => ({ buffer }))
		}));
		for (const s of slices) this.encodeSlice(enc, x, w, s, y, M, opts);
	}

	/** One dispatch: y[:, yOffset + slice.row0 ..] (+)= x · (rows of the slice)ᵀ. */
	encodeSlice(
		enc: GPUCommandEncoder,
		x: GPUBuffer | GPUBufferBinding,
		w: GpuLinear,
		slice: WeightSlice,
		y: GPUBuffer,
		M: number,
		opts: GemvOptions = {}
	): void {
		const grid: [number, number] = [ceilDiv(slice.rows, GEMV_ROWS), M];
		if (grid[0] > this.maxWorkgroups || grid[1] > this.maxWorkgroups)
			throw new Error(
				`gemv: grid ${grid} exceeds maxComputeWorkgroupsPerDimension; split the weight into smaller row chunks`
			);
		const params = packUniforms([
			['u', M],
			['u', slice.rows],
			['u', w.cols],
			['u', opts.ldy ?? w.rows],
			['u', (opts.yOffset ?? 0) + slice.row0],
			['u', opts.accumulate ? 1 : 0]
		]);
		const kernel = this.kernel(w.kind, w.scaleDtype !== 'f32');
		kernel.dispatch(enc, [x, ...slice.buffers, y], grid, params);
	}
}
