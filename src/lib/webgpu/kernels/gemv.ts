/**
 * GEMV: y = x Wᵀ for a few tokens (decode), one pass over W (see gemv.wgsl for the scheme).
 *
 *   x [M, K] f32  ·  W (f32 or MLC q4, [N, K])  →  y [M, ldy] (columns yOffset.. of each row)
 *
 * MatmulKernel.encode chooses this shape for M ≤ GEMV_MAX_M and hands it each row slice of the
 * weight (chunks, or parts of chunks bound with offsets). The decode layer calls it directly for
 * what a plain matmul cannot do in one dispatch:
 * - `encodeMerged`: up to three weights with the same input in one dispatch (q, k, v), their
 *   rows concatenated in y;
 * - `encodeGeluGate`: gate and up in one dispatch, y = gelu_tanh(x gateᵀ) ⊙ (x upᵀ);
 * - `encode(…, { softcap })`: the LM head with Gemma-2's final softcap in the epilogue.
 *
 * Subgroups: where the device has them (or `subgroups: true`), the lane reduction uses subgroup
 * shuffles; `subgroups: false` keeps the shared-memory tree (the path of devices without them).
 *
 * Storage: where the device has shader-f16 (kernelPaths, or `storage: 'f16'`), each workgroup
 * stages its x row in workgroup memory as f16 and the lanes read it there, products and sums in
 * f32 (gemv.wgsl); error bound `f16DotBound` (x rounded). `storage: 'f32'` (the default without
 * shader-f16, e.g. SwiftShader) reads x from global memory as f32.
 */
import { kernelPaths } from '../device';
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import type { GpuLinear } from './matmul';
import activations from './activations.wgsl?raw';
import gemv from './gemv.wgsl?raw';
import reduce from './gemv-reduce.wgsl?raw';
import q4 from './q4.wgsl?raw';

/** Rows per GEMV workgroup (the GEMV_ROWS override of gemv.wgsl). */
export const GEMV_ROWS = 8;
/** Lanes reducing one row (GEMV_LANES): one 128-byte read of a row's words per step. */
const GEMV_LANES = 32;
/**
 * Up to this many tokens the GEMV shape is used: each token re-reads W, which costs less than
 * the tiled kernel's mostly-empty 64-token tiles for a handful of rows.
 */
export const GEMV_MAX_M = 4;

/** Where x lives while the lanes read it: global memory as f32, or workgroup memory as f16. */
export type GemvStorage = 'f32' | 'f16';

/** One output Σ_k x_k·w_k of the f16 variants (GEMV, GEMM), for `f16DotBound`. */
export interface F16DotTerms {
	/** Σ_k |x_k·w_k| */
	absDot: number;
	/** Σ_k |x_k|, Σ_k |w_k| */
	absX: number;
	absW: number;
	/** Terms summed. */
	K: number;
	/** Which operands were rounded to f16 on their way into workgroup memory. */
	xF16: boolean;
	wF16: boolean;
}

/**
 * Worst |computed − exact| of one output of an f16 variant, as stated and tested (tests/gpu
 * kernels-linear-f16). Rounding a value v to f16 moves it by at most u·|v| (u = 2^-11, 11
 * significant bits) or, below the normal range, by half the subnormal spacing s = 2^-25. With
 * e = u, s for each rounded operand (0 otherwise):
 *   Σ_k |x̂w̃ − xw| ≤ (e_x + e_w + e_x·e_w)·Σ|x·w| + s_x(1 + e_w)·Σ|w| + s_w(1 + e_x)·Σ|x| + K·s_x·s_w
 * and the f32 products and sums (plus the q4 dequantization) add at most (K + 2)·2^-24 of
 * Σ|x̂·ŵ| (taken with a 1% margin). Holds while |x|, |w| < 65504 (f16's largest finite value).
 */
export function f16DotBound(t: F16DotTerms): number {
	const u = 2 ** -11;
	const s = 2 ** -25;
	const [ex, sx] = t.xF16 ? [u, s] : [0, 0];
	const [ew, sw] = t.wF16 ? [u, s] : [0, 0];
	const rounding =
		(ex + ew + ex * ew) * t.absDot +
		sx * (1 + ew) * t.absW +
		sw * (1 + ex) * t.absX +
		t.K * sx * sw;
	const f32 = (t.K + 2) * 2 ** -24 * 1.01 * (t.absDot + rounding);
	return rounding + f32;
}

/** Rows [row0, row0 + rows) of a weight: its buffers (weight, then q4 scales), bound as given. */
export interface WeightSlice {
	row0: number;
	rows: number;
	buffers: GPUBufferBinding[];
}

export interface GemvOptions {
	/** Row stride of y; default the rows written. */
	ldy?: number;
	/** Column of y that row 0 goes to; default 0. */
	yOffset?: number;
	/** y += x Wᵀ instead of y = x Wᵀ. */
	accumulate?: boolean;
	/** y = cap · tanh(x Wᵀ / cap) (not with accumulate). */
	softcap?: number;
}

/** gemv.wgsl's Params. */
export const GEMV_PARAMS = new UniformLayout('Params', [
	['M', 'u32'],
	['N', 'u32'],
	['K', 'u32'],
	['ldy', 'u32'],
	['yOffset', 'u32'],
	['accumulate', 'u32'],
	['n1', 'u32'],
	['n2', 'u32'],
	['cap', 'f32']
] as const);

type Epilogue = 'store' | 'softcap' | 'gelu';
const EPILOGUE: Record<Epilogue, number> = { store: 0, softcap: 1, gelu: 2 };

/**
 * Values of x staged per step by the f16 variant (workgroup memory: 2 bytes each, 9 KiB): Gemma-2
 * 2B's hidden size 2304 in one step, its 9216-wide down_proj input in two.
 */
const X_CHUNK = 4608;

/**
 * The x operands of dot_row_<i>: the two vec4s of q4 word i (X_WORD) or value k of f32 weights
 * (X_VALUE), read from global memory (f32 storage) or from the f16 staging tile (`xs`, f16).
 */
const X_WORD: Record<GemvStorage, (i: string, h: number) => string> = {
	f32: (i, h) => `x4[xb + 2u * ${i} + ${h}u]`,
	f16: (i, h) => `vec4<f32>(xs[2u * (${i} - w0) + ${h}u])`
};
const X_VALUE: Record<GemvStorage, (k: string) => string> = {
	f32: (k) => `x[xb + ${k}]`,
	f16: (k) => `f32(xs[${k} - k0])`
};

/**
 * `row_acc`: this lane's share of its row's dot product. f32: straight from global x. f16: x
 * staged in X_CHUNK steps as f16 (every thread of the workgroup stages, then the row's lanes read).
 */
function rowAccSource(kind: GpuLinear['kind'], storage: GemvStorage): string {
	const signature = 'fn row_acc(w: u32, n: u32, m: u32, lane: u32, live: bool, lid: u32) -> f32';
	if (storage === 'f32')
		return `${signature} {
  if (live) { return dot_row(w, n, m, lane, 0u, p.K); }
  return 0.0;
}`;
	const stage =
		kind === 'q4'
			? // K % 32 == 0: chunk bounds and the row start are whole vec4s
				`for (var e = lid; e < (k1 - k0) / 4u; e += GEMV_THREADS) { xs[e] = vec4<f16>(x4[(m * p.K + k0) / 4u + e]); }`
			: `for (var e = lid; e < k1 - k0; e += GEMV_THREADS) { xs[e] = f16(x[m * p.K + k0 + e]); }`;
	return `const X_CHUNK: u32 = ${X_CHUNK}u;
var<workgroup> xs: array<${kind === 'q4' ? 'vec4<f16>, X_CHUNK / 4u' : 'f16, X_CHUNK'}>;
${signature} {
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.K; k0 += X_CHUNK) {
    let k1 = min(p.K, k0 + X_CHUNK);
    workgroupBarrier(); // the previous chunk has been read
    ${stage}
    workgroupBarrier();
    if (live) { acc += dot_row(w, n, m, lane, k0, k1); }
  }
  return acc;
}`;
}

/** The WGSL module for `slots` weights of one kind (see gemv.wgsl for the parts). */
function gemvSource(
	kind: GpuLinear['kind'],
	slots: number,
	subgroups: boolean,
	storage: GemvStorage
): string {
	const decl: string[] = [
		'@group(0) @binding(0) var<storage, read> x: array<f32>;',
		'@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;'
	];
	const dots: string[] = [];
	let b = 1;
	for (let i = 0; i < slots; i++) {
		// dot_row_<i>(n, m, lane, k0, k1): Σ over columns [k0, k1) of x[m] · W_i[n], this lane's share
		if (kind === 'q4') {
			const xo = X_WORD[storage];
			decl.push(`@group(0) @binding(${b++}) var<storage, read> w_${i}: array<u32>;`);
			decl.push(`@group(0) @binding(${b++}) var<storage, read> s_${i}: array<u32>;`);
			const term = (k: string) =>
				`dot_word(w_${i}[wb + ${k}], ${xo(k, 0)}, ${xo(k, 1)}) * ` +
				`scale_value(s_${i}[scale_word(sb + ${k} / 4u)], sb + ${k} / 4u)`;
			dots.push(`fn dot_row_${i}(n: u32, m: u32, lane: u32, k0: u32, k1: u32) -> f32 {
  let w0 = k0 / 8u;
  let words = k1 / 8u;
  let xb = m * (p.K / 4u);
  let wb = n * (p.K / 8u);
  let sb = n * (p.K / 32u);
  var a0 = 0.0;
  var a1 = 0.0;
  var i = w0 + lane;
  for (; i + GEMV_LANES < words; i += 2u * GEMV_LANES) {
    let j = i + GEMV_LANES;
    a0 += ${term('i')};
    a1 += ${term('j')};
  }
  if (i < words) { a0 += ${term('i')}; }
  return a0 + a1;
}`);
		} else {
			const xo = X_VALUE[storage];
			decl.push(`@group(0) @binding(${b++}) var<storage, read> w_${i}: array<f32>;`);
			dots.push(`fn dot_row_${i}(n: u32, m: u32, lane: u32, k0: u32, k1: u32) -> f32 {
  let xb = m * p.K;
  let wb = n * p.K;
  var a0 = 0.0;
  var a1 = 0.0;
  var k = k0 + lane;
  for (; k + GEMV_LANES < k1; k += 2u * GEMV_LANES) {
    a0 += ${xo('k')} * w_${i}[wb + k];
    a1 += ${xo('(k + GEMV_LANES)')} * w_${i}[wb + k + GEMV_LANES];
  }
  if (k < k1) { a0 += ${xo('k')} * w_${i}[wb + k]; }
  return a0 + a1;
}`);
		}
	}
	decl.push(`@group(0) @binding(${b++}) var<storage, read_write> y: array<f32>;`);
	decl.push(`@group(0) @binding(${b}) var<uniform> p: Params;`);
	const cases = dots
		.map((_, i) => `    case ${i}u: { return dot_row_${i}(n, m, lane, k0, k1); }`)
		.slice(1)
		.join('\n');
	dots.push(`fn dot_row(w: u32, n: u32, m: u32, lane: u32, k0: u32, k1: u32) -> f32 {
  switch (w) {
${cases}
    default: { return dot_row_0(n, m, lane, k0, k1); }
  }
}`);
	dots.push(rowAccSource(kind, storage));
	const [shared, sub] = reduce.split('//#subgroups\n');
	let body = gemv;
	let head = storage === 'f16' ? 'enable f16;\n' : '';
	if (subgroups) {
		// sg_size (the subgroup_size builtin, kept in a private) is uniform; the analysis cannot tell.
		head += 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n';
		body = body
			.replace('/*SG_PARAM*/', ', @builtin(subgroup_size) sgs: u32')
			.replace('/*SG_INIT*/', 'sg_size = sgs;');
		decl.push('var<private> sg_size: u32;');
	}
	return [
		head,
		activations,
		q4,
		body,
		decl.join('\n'),
		dots.join('\n\n'),
		subgroups ? sub : shared
	].join('\n');
}

export class GemvKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	private readonly maxWorkgroups: number;
	/** Whether the lane reduction uses subgroup operations. */
	readonly subgroups: boolean;
	/** How x is read: from global memory as f32, or staged in workgroup memory as f16. */
	readonly storage: GemvStorage;

	constructor(
		readonly device: GPUDevice,
		opts: { subgroups?: boolean; storage?: GemvStorage } = {}
	) {
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
		this.subgroups = opts.subgroups ?? device.features.has('subgroups');
		if (this.subgroups && !device.features.has('subgroups'))
			throw new Error('gemv: subgroups asked for, but the device has no "subgroups" feature');
		this.storage = opts.storage ?? kernelPaths(device).storage;
		if (this.storage === 'f16' && !device.features.has('shader-f16'))
			throw new Error('gemv: f16 storage asked for, but the device has no "shader-f16" feature');
	}

	private kernel(w: GpuLinear, slots: number, epilogue: Epilogue): ComputeKernel {
		const scaleF16 = w.kind === 'q4' && w.scaleDtype !== 'f32';
		const key = `${w.kind}:${scaleF16}:${slots}:${epilogue}`;
		let k = this.kernels.get(key);
		if (!k) {
			const constants: Record<string, number> = {
				GEMV_ROWS,
				GEMV_LANES,
				EPILOGUE: EPILOGUE[epilogue]
			};
			if (w.kind === 'q4') constants.SCALE_F16 = scaleF16 ? 1 : 0;
			k = new ComputeKernel(this.device, {
				label: 'gemv',
				code: gemvSource(w.kind, slots, this.subgroups, this.storage),
				entryPoint: 'gemv',
				constants
			});
			this.kernels.set(key, k);
		}
		return k;
	}

	/** y[:, yOffset + chunk rows] (+)= x Wᵀ for every chunk of W (one dispatch per chunk). */
	encode(
		enc: GPUCommandEncoder,
		x: GPUBuffer | GPUBufferBinding,
		w: GpuLinear,
		y: GPUBuffer,
		M: number,
		opts: GemvOptions = {}
	): void {
		for (const c of w.chunks) this.encodeSlice(enc, x, w, sliceOf(c), y, M, opts);
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
		const epilogue = opts.softcap !== undefined ? 'softcap' : 'store';
		this.dispatch(enc, x, w, [slice], y, M, epilogue, {
			...opts,
			ldy: opts.ldy ?? w.rows,
			yOffset: (opts.yOffset ?? 0) + slice.row0
		});
	}

	/**
	 * y [M, ldy] (+)= x [W_0; W_1; W_2]ᵀ in one dispatch: up to three single-chunk weights with the
	 * same kind and input width, their rows side by side in y from column yOffset.
	 */
	encodeMerged(
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		ws: GpuLinear[],
		y: GPUBuffer,
		M: number,
		opts: Omit<GemvOptions, 'softcap'> = {}
	): void {
		if (ws.length < 1 || ws.length > 3) throw new Error('gemv: merges 1 to 3 weights');
		for (const w of ws)
			if (w.kind !== ws[0].kind || w.cols !== ws[0].cols || w.scaleDtype !== ws[0].scaleDtype)
				throw new Error('gemv: merged weights need the same kind, scale type and input width');
		const rows = ws.reduce((n, w) => n + w.rows, 0);
		this.dispatch(enc, x, ws[0], ws.map(single), y, M, 'store', {
			...opts,
			ldy: opts.ldy ?? rows,
			yOffset: opts.yOffset ?? 0
		});
	}

	/** y [M, ldy] = gelu_tanh(x gateᵀ) ⊙ (x upᵀ) in one dispatch (gate, up: [N, K], one chunk each). */
	encodeGeluGate(
		enc: GPUCommandEncoder,
		x: GPUBuffer,
		gate: GpuLinear,
		up: GpuLinear,
		y: GPUBuffer,
		M: number,
		opts: { ldy?: number; yOffset?: number } = {}
	): void {
		if (gate.rows !== up.rows) throw new Error('gemv: gate and up need the same rows');
		this.dispatch(enc, x, gate, [single(gate), single(up)], y, M, 'gelu', {
			ldy: opts.ldy ?? gate.rows,
			yOffset: opts.yOffset ?? 0
		});
	}

	private dispatch(
		enc: GPUCommandEncoder,
		x: GPUBuffer | GPUBufferBinding,
		w: GpuLinear,
		slices: WeightSlice[],
		y: GPUBuffer,
		M: number,
		epilogue: Epilogue,
		opts: GemvOptions & { ldy: number; yOffset: number }
	): void {
		const gelu = epilogue === 'gelu';
		// gelu: N rows in each of the two weights, GEMV_ROWS/2 of each per workgroup
		const N = gelu ? slices[0].rows : slices.reduce((n, s) => n + s.rows, 0);
		const grid: [number, number] = [ceilDiv(N, gelu ? GEMV_ROWS / 2 : GEMV_ROWS), M];
		if (grid[0] > this.maxWorkgroups || grid[1] > this.maxWorkgroups)
			throw new Error(
				`gemv: grid ${grid} exceeds maxComputeWorkgroupsPerDimension; split the weight into smaller row chunks`
			);
		const n1 = gelu || slices.length < 2 ? N : slices[0].rows;
		const n2 = gelu || slices.length < 3 ? N : n1 + slices[1].rows;
		const params = GEMV_PARAMS.pack({
			M,
			N,
			K: w.cols,
			ldy: opts.ldy,
			yOffset: opts.yOffset,
			accumulate: opts.accumulate ? 1 : 0,
			n1,
			n2,
			cap: opts.softcap ?? 0
		});
		const kernel = this.kernel(w, slices.length, epilogue);
		kernel.dispatch(enc, [x, ...slices.flatMap((s) => s.buffers), y], grid, params);
	}
}

function sliceOf(c: GpuLinear['chunks'][number]): WeightSlice {
	return {
		row0: c.rowStart,
		rows: c.rows,
		buffers: [c.weight, ...(c.scales ? [c.scales] : [])].map((buffer) => ({ buffer }))
	};
}

function single(w: GpuLinear): WeightSlice {
	if (w.chunks.length !== 1) throw new Error('gemv: a merged weight must be one chunk');
	return sliceOf(w.chunks[0]);
}
