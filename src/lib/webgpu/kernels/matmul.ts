/**
 * Linear layer y = x Wᵀ on the GPU for f32 and MLC-q4 weights (see matmul.wgsl for the layouts).
 *
 *   x [M, K] f32  ·  W [N, K]  →  y [M, ldy] (columns yOffset.. of each row), f32 accumulation
 *
 * M ≤ GEMV_MAX_M runs the GEMV kernel (decode: bandwidth-bound, one pass over W), larger M the
 * tiled GEMM (prefill: W tiles reused across 64 tokens). A weight may be split into row chunks
 * (GpuLinear.chunks) when it exceeds maxStorageBufferBindingSize; each chunk writes its own
 * column range of y.
 */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import code from './matmul.wgsl?raw';

/** Rows per GEMV workgroup (must match GEMV_ROWS in matmul.wgsl). */
const GEMV_ROWS = 8;
/** GEMM output tile (TILE_M × TILE_N in matmul.wgsl). */
const TILE_M = 64;
const TILE_N = 64;
/**
 * Up to this many tokens the GEMV shape is used: each token re-reads W, which costs less than
 * the tiled kernel's mostly-empty 64-token tiles for a handful of rows.
 */
export const GEMV_MAX_M = 4;

/** Rows [rowStart, rowStart + rows) of a weight, in their own GPU buffer(s). */
export interface GpuLinearChunk {
	rowStart: number;
	rows: number;
	/** f32: [rows, cols] f32. q4: qweight [rows, cols/8] u32. */
	weight: GPUBuffer;
	/** q4 only: [rows, cols/32] scales (f16 pairs packed in u32, or f32). */
	scales?: GPUBuffer;
}

/** A linear weight [rows = out, cols = in] resident on the GPU. */
export interface GpuLinear {
	kind: 'f32' | 'q4';
	rows: number;
	cols: number;
	scaleDtype?: 'f16' | 'f32';
	chunks: GpuLinearChunk[];
}

export interface MatmulOptions {
	/** Row stride of y; default W.rows. */
	ldy?: number;
	/** First column written; default 0 (each chunk adds its rowStart). */
	yOffset?: number;
	/** y += x Wᵀ instead of y = x Wᵀ. */
	accumulate?: boolean;
	/** Force a shape (tests). */
	shape?: 'gemv' | 'gemm';
}

export class MatmulKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	private readonly maxWorkgroups: number;

	constructor(readonly device: GPUDevice) {
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	private kernel(entryPoint: string, scaleF16: boolean): ComputeKernel {
		const key = `${entryPoint}:${scaleF16}`;
		let k = this.kernels.get(key);
		if (!k) {
			const constants = entryPoint.endsWith('q4') ? { SCALE_F16: scaleF16 ? 1 : 0 } : undefined;
			k = new ComputeKernel(this.device, { label: 'matmul', code, entryPoint, constants });
			this.kernels.set(key, k);
		}
		return k;
	}

	/** Encodes y[:, yOffset + chunk rows] (+)= x Wᵀ for every chunk of W. x is [M, W.cols]. */
	encode(
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		w: GpuLinear,
		y: GPUBuffer,
		M: number,
		opts: MatmulOptions = {}
	): void {
		const K = w.cols;
		const ldy = opts.ldy ?? w.rows;
		const shape = opts.shape ?? (M <= GEMV_MAX_M ? 'gemv' : 'gemm');
		if (w.kind === 'q4' && K % 32 !== 0)
			throw new Error(`matmul: q4 weight needs cols % 32 == 0, got ${K}`);
		for (const c of w.chunks) {
			const params = packUniforms([
				['u', M],
				['u', c.rows],
				['u', K],
				['u', ldy],
				['u', (opts.yOffset ?? 0) + c.rowStart],
				['u', opts.accumulate ? 1 : 0]
			]);
			const grid: [number, number] =
				shape === 'gemv'
					? [ceilDiv(c.rows, GEMV_ROWS), M]
					: [ceilDiv(c.rows, TILE_N), ceilDiv(M, TILE_M)];
			if (grid[0] > this.maxWorkgroups || grid[1] > this.maxWorkgroups)
				throw new Error(
					`matmul: grid ${grid} exceeds maxComputeWorkgroupsPerDimension; split the weight into smaller row chunks`
				);
			const kernel = this.kernel(`${shape}_${w.kind}`, w.scaleDtype !== 'f32');
			const buffers = w.kind === 'f32' ? [x, c.weight, y] : [x, c.weight, c.scales!, y];
			kernel.dispatch(enc, buffers, grid, params);
		}
	}
}
