/**
 * Linear layer y = x Wᵀ on the GPU for f32 and MLC-q4 weights (see matmul.wgsl for the layouts).
 *
 *   x [M, K] f32  ·  W [N, K]  →  y [M, ldy] (columns yOffset.. of each row), f32 accumulation
 *
 * M ≤ GEMV_MAX_M runs the GEMV kernel (gemv.ts; decode: bandwidth-bound, one pass over W), larger M the
 * tiled GEMM (prefill: W tiles reused across 64 tokens). A weight may be split into row chunks
 * (GpuLinear.chunks) when it exceeds maxStorageBufferBindingSize; each chunk writes its own
 * column range of y.
 *
 * Backward (LoRA training, frozen W): `encodeBackward` is dx [M, K] (+)= dy W, the transposed
 * product (always the tiled shape: training runs whole sequences); `encodeWeightGrad` is
 * dW (+)= alpha · dyᵀ x for small trainable f32 weights (LoRA factors).
 *
 * Row slices (`rows`): both directions can work on rows [start, start + count) of W only — the
 * chunked cross-entropy walks the 256k-row LM head in blocks that way. y (or dy) column
 * yOffset + (n − start) then belongs to row n. A slice is bound with buffer offsets, so its start
 * inside each chunk must be a multiple of `rowAlignment(w)` (the storage offset alignment).
 *
 * f16 (devices with shader-f16, or `storage: 'f16'`): the GEMMs stage their tiles in f16 workgroup
 * memory — x and W for the forward, W only for dx — and the GEMV stages x in f16; products and
 * accumulators stay f32. Error bound: f16DotBound (gemv.ts). 'f32' stays the path elsewhere.
 */
import { kernelPaths } from '../device';
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import { GEMV_MAX_M, GemvKernel, type GemvStorage, type WeightSlice } from './gemv';
import q4 from './q4.wgsl?raw';
import matmul from './matmul.wgsl?raw';

export { GEMV_MAX_M } from './gemv';

/** Element types of the GEMM's staged tiles: a (x, or dy for dx) and b (W). */
interface TileTypes {
	a: 'f32' | 'f16';
	b: 'f32' | 'f16';
}

/** The module with matmul.wgsl's `alias tile_a / tile_b` lines set to `t` (f16: after `enable f16;`). */
function matmulSource(t: TileTypes): string {
	const code = (q4 + matmul)
		.replace('alias tile_a = f32;', `alias tile_a = ${t.a};`)
		.replace('alias tile_b = f32;', `alias tile_b = ${t.b};`);
	if (!code.includes(`alias tile_a = ${t.a};`) || !code.includes(`alias tile_b = ${t.b};`))
		throw new Error('matmul.wgsl: the `alias tile_a / tile_b = f32;` lines are missing');
	return t.a === 'f16' || t.b === 'f16' ? `enable f16;\n${code}` : code;
}

/**
 * The tiles each entry point stages, per storage. f16: x and W for the forward; only W for dx
 * (dy stays f32, see matmul.wgsl). The f16 sources differ only in which entry points use them, so
 * each pipeline (keyed by label, entry point and code length) is still its own.
 */
const SOURCES = {
	f32: matmulSource({ a: 'f32', b: 'f32' }),
	f16: matmulSource({ a: 'f16', b: 'f16' }),
	f16Dx: matmulSource({ a: 'f32', b: 'f16' })
};
function sourceFor(entryPoint: string, storage: GemvStorage): string {
	if (storage === 'f32' || !entryPoint.startsWith('gemm_')) return SOURCES.f32;
	return entryPoint.startsWith('gemm_dx_') ? SOURCES.f16Dx : SOURCES.f16;
}
/**
 * GEMM output tiles (matmul.wgsl's gemm_*: WG_M × WG_N threads of 8×8 outputs each): 64×64 (64
 * threads), or 128×128 (256 threads, 16.5 KiB of workgroup memory) when the device allows it and
 * those still make BIG_TILE_GROUPS workgroups or more — a big GPU needs a few per compute unit
 * (Gemma-2 2B training at 512 tokens: gate/up, the LM head and down_proj's dx get big tiles; the
 * narrower products keep 64×64).
 */
export type GemmTile = 64 | 128;
const BIG_TILE_GROUPS = 128;
/** Outputs per thread along m and n (8×8: the register block written out in matmul.wgsl). */
const THREAD_OUTPUTS = 8;
/** Steps of the reduction staged at once (TILE_K: one q4 word). */
const GEMM_TILE_K = 8;
/** Workgroup memory of a tile: two stages of TILE_K padded rows of a and b (f32: 4 bytes each). */
function gemmTileBytes(tile: GemmTile, storage: GemvStorage): number {
	return 2 * GEMM_TILE_K * (2 * tile + 8) * (storage === 'f16' ? 2 : 4);
}

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
	/** Force a GEMM tile (tests, benchmarks); default by the output's size (see GemmTile). */
	tile?: GemmTile;
	/** Only rows [start, start + count) of W (see the file comment). */
	rows?: { start: number; count: number };
}

/** One dispatch's share of W: a chunk's rows [local, local + rows) bound with offsets. */
type RowSlice = WeightSlice;

/** matmul.wgsl's Params (gemm_*). */
export const MATMUL_PARAMS = new UniformLayout('Params', [
	['M', 'u32'],
	['N', 'u32'],
	['K', 'u32'],
	['ldy', 'u32'],
	['yOffset', 'u32'],
	['accumulate', 'u32']
] as const);
type MatmulParams = Parameters<typeof MATMUL_PARAMS.pack>[0];

/** matmul.wgsl's WgradParams (wgrad_f32). */
export const WGRAD_PARAMS = new UniformLayout('WgradParams', [
	['M', 'u32'],
	['N', 'u32'],
	['K', 'u32'],
	['accumulate', 'u32'],
	['alpha', 'f32']
] as const);

function gcd(a: number, b: number): number {
	return b === 0 ? a : gcd(b, a % b);
}

/** Bytes per row of each buffer of a chunk (weight, then scales for q4). */
function rowBytes(w: GpuLinear): number[] {
	if (w.kind === 'f32') return [w.cols * 4];
	return [(w.cols / 8) * 4, (w.cols / 32) * (w.scaleDtype === 'f32' ? 4 : 2)];
}

export class MatmulKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	private readonly maxWorkgroups: number;
	private readonly gemv: GemvKernel;
	/**
	 * The GEMMs' staged tiles and the GEMV's x: 'f16' (the default where the device has
	 * shader-f16, kernelPaths) or 'f32'. Accumulation is f32 either way.
	 */
	readonly storage: GemvStorage;

	constructor(
		readonly device: GPUDevice,
		opts: { storage?: GemvStorage } = {}
	) {
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
		this.storage = opts.storage ?? kernelPaths(device).storage;
		this.gemv = new GemvKernel(device, { storage: this.storage });
	}

	/** Row slices must start (inside each chunk) at a multiple of this many rows. */
	rowAlignment(w: GpuLinear): number {
		const align = this.device.limits.minStorageBufferOffsetAlignment;
		let rows = 1;
		for (const b of rowBytes(w)) {
			const r = align / gcd(b, align);
			rows = (rows * r) / gcd(rows, r);
		}
		return rows;
	}

	/** The chunks (or parts of chunks) of W covering rows [start, start + count). */
	private slices(w: GpuLinear, rows?: { start: number; count: number }): RowSlice[] {
		if (!rows)
			return w.chunks.map((c) => ({
				row0: c.rowStart,
				rows: c.rows,
				buffers: c.scales ? [{ buffer: c.weight }, { buffer: c.scales }] : [{ buffer: c.weight }]
			}));
		const end = rows.start + rows.count;
		const bytes = rowBytes(w);
		const align = this.device.limits.minStorageBufferOffsetAlignment;
		const out: RowSlice[] = [];
		for (const c of w.chunks) {
			const lo = Math.max(rows.start, c.rowStart);
			const hi = Math.min(end, c.rowStart + c.rows);
			if (lo >= hi) continue;
			const local = lo - c.rowStart;
			const toEnd = hi === c.rowStart + c.rows;
			const buffers = [c.weight, ...(c.scales ? [c.scales] : [])].map((buffer, i) => {
				const offset = local * bytes[i];
				const size = (hi - lo) * bytes[i];
				if (offset % align !== 0 || (!toEnd && size % 4 !== 0))
					throw new Error(
						`matmul: row slice at ${lo} is not aligned (start slices at multiples of ${this.rowAlignment(w)} rows inside a chunk)`
					);
				// A slice reaching the chunk's end binds to the buffer's end (covers the f16 padding).
				return toEnd ? { buffer, offset } : { buffer, offset, size };
			});
			out.push({ row0: lo, rows: hi - lo, buffers });
		}
		return out;
	}

	private kernel(
		entryPoint: string,
		scaleF16: boolean,
		tile: GemmTile = 64,
		aVec4 = false
	): ComputeKernel {
		const key = `${entryPoint}:${scaleF16}:${tile}:${aVec4}`;
		let k = this.kernels.get(key);
		if (!k) {
			const constants: Record<string, number> = {};
			if (entryPoint.endsWith('q4')) constants.SCALE_F16 = scaleF16 ? 1 : 0;
			if (entryPoint.startsWith('gemm_')) {
				const threads = tile / THREAD_OUTPUTS;
				Object.assign(constants, { WG_M: threads, WG_N: threads, TILE_K: GEMM_TILE_K });
				constants.A_VEC4 = aVec4 ? 1 : 0;
			}
			const code = sourceFor(entryPoint, this.storage);
			k = new ComputeKernel(this.device, { label: 'matmul', code, entryPoint, constants });
			this.kernels.set(key, k);
		}
		return k;
	}

	/** The GEMM tile for an [M, N] output: 128 where it leaves enough workgroups and fits. */
	private gemmTile(M: number, N: number, tile?: GemmTile): GemmTile {
		const wanted = tile ?? (Math.ceil(M / 128) * Math.ceil(N / 128) >= BIG_TILE_GROUPS ? 128 : 64);
		const bytes = gemmTileBytes(wanted, this.storage);
		return bytes <= this.device.limits.maxComputeWorkgroupStorageSize ? wanted : 64;
	}

	/**
	 * One GEMM dispatch (gemm_* share one tile body and one binding list: a, W, scales — W again
	 * for f32 —, out, a as vec4s, params). a's rows are staged with vec4 loads when its row stride
	 * and first column are multiples of 4.
	 */
	private dispatchGemm(
		enc: GPUCommandEncoder,
		entry: 'gemm' | 'gemm_dx',
		a: GPUBuffer,
		w: GpuLinear,
		slice: RowSlice,
		out: GPUBuffer,
		grid: [number, number],
		tile: GemmTile,
		params: MatmulParams
	): void {
		const { K, ldy, yOffset } = params;
		const aVec4 = entry === 'gemm' ? K % 4 === 0 : ldy % 4 === 0 && yOffset % 4 === 0;
		if (grid[0] > this.maxWorkgroups || grid[1] > this.maxWorkgroups)
			throw new Error(
				`matmul: grid ${grid} exceeds maxComputeWorkgroupsPerDimension; split the weight into smaller row chunks`
			);
		const kernel = this.kernel(`${entry}_${w.kind}`, w.scaleDtype !== 'f32', tile, aVec4);
		const [weight, scales = weight] = slice.buffers;
		kernel.dispatch(enc, [a, weight, scales, out, a], grid, MATMUL_PARAMS.pack(params));
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
		const ldy = opts.ldy ?? opts.rows?.count ?? w.rows;
		const shape = opts.shape ?? (M <= GEMV_MAX_M ? 'gemv' : 'gemm');
		const tile = this.gemmTile(M, opts.rows?.count ?? w.rows, opts.tile);
		if (w.kind === 'q4' && K % 32 !== 0)
			throw new Error(`matmul: q4 weight needs cols % 32 == 0, got ${K}`);
		const start = opts.rows?.start ?? 0;
		for (const c of this.slices(w, opts.rows)) {
			if (shape === 'gemv') {
				const yOffset = (opts.yOffset ?? 0) - start;
				this.gemv.encodeSlice(enc, x, w, c, y, M, { ldy, yOffset, accumulate: opts.accumulate });
				continue;
			}
			const yOffset = (opts.yOffset ?? 0) + c.row0 - start;
			const params = { M, N: c.rows, K, ldy, yOffset, accumulate: opts.accumulate ? 1 : 0 };
			const grid: [number, number] = [ceilDiv(c.rows, tile), ceilDiv(M, tile)];
			this.dispatchGemm(enc, 'gemm', x, w, c, y, grid, tile, params);
		}
	}

	/**
	 * Backward of `y = x Wᵀ` with respect to x: dx [M, W.cols] = dy W (or dx += dy W).
	 * dy is [M, ldy] (default ldy = W.rows, or the slice's count with `rows`); its column
	 * yOffset + (n − start) holds ∂/∂y of W's row n. Each chunk of a split weight adds its share.
	 */
	encodeBackward(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		w: GpuLinear,
		dx: GPUBuffer,
		M: number,
		opts: Omit<MatmulOptions, 'shape'> = {}
	): void {
		const K = w.cols;
		const tile = this.gemmTile(M, K, opts.tile);
		const ldy = opts.ldy ?? opts.rows?.count ?? w.rows;
		if (w.kind === 'q4' && K % 32 !== 0)
			throw new Error(`matmul: q4 weight needs cols % 32 == 0, got ${K}`);
		const start = opts.rows?.start ?? 0;
		const grid: [number, number] = [ceilDiv(K, tile), ceilDiv(M, tile)];
		this.slices(w, opts.rows).forEach((c, i) => {
			// the first slice writes (unless asked to accumulate), the others add their share
			const add = opts.accumulate || i > 0 ? 1 : 0;
			const yOffset = (opts.yOffset ?? 0) + c.row0 - start;
			const params = { M, N: c.rows, K, ldy, yOffset, accumulate: add };
			this.dispatchGemm(enc, 'gemm_dx', dy, w, c, dx, grid, tile, params);
		});
	}

	/**
	 * Gradient of a small trainable f32 weight W [N, K] used as y = x Wᵀ:
	 * dw [N, K] (+)= alpha · dyᵀ x, with dy [M, N], x [M, K] (the reduction is over the M tokens).
	 */
	encodeWeightGrad(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		x: GPUBuffer,
		dw: GPUBuffer,
		M: number,
		N: number,
		K: number,
		opts: { alpha?: number; accumulate?: boolean } = {}
	): void {
		const groups = Math.max(1, ceilDiv(N * K, 256));
		const gx = Math.min(groups, this.maxWorkgroups);
		this.kernel('wgrad_f32', true).dispatch(
			enc,
			[dy, x, dw],
			[gx, ceilDiv(groups, gx)],
			WGRAD_PARAMS.pack({ M, N, K, accumulate: opts.accumulate ? 1 : 0, alpha: opts.alpha ?? 1 })
		);
	}
}
