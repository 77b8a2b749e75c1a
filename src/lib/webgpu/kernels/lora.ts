/**
 * The LoRA branches y_m += s_m·B_m(A_m x̃) of a group of projections sharing their input x (q | k | v,
 * gate | up, or one projection) and their backward, one dispatch per step for the whole group
 * (see lora.wgsl for the maths):
 *
 *   forward   lora_forward          u = x̃ [A_0 | A_1 | A_2]ᵀ, every y_m += s_m·u_m B_mᵀ   (1 dispatch)
 *   backward  lora_backward_rows    u, g_m = dy_m B_m, dx += Σ_m s_m·(g_m A_m) ⊙ mask_m
 *             lora_weight_grads     dA_m += s_m·g_mᵀx̃_m, dB_m += s_m·dy_mᵀu_m           (2 dispatches)
 *
 *   x [T, IN]; member m: A [R_m, IN], B [OUT_m, R_m] at float offsets in one weights binding (P,
 *   GpuLoraAdapter's flat buffer) or in two (A, B: encodeForward / encodeBackward, one projection);
 *   y_m / dy_m in binding ys[slot_m] / dys[slot_m], rows of ld_m floats from column col_m (q, k, v
 *   may be three buffers, or the fused decode's one qkv buffer); u, g scratch [T, Σ R_m]
 *   (Σ R_m ≤ LORA_MAX_RANK = 1024).
 *
 * Buffers may be GPUBufferBindings. Everything is encoded through ComputeKernel, so it may run
 * inside an open compute pass (the engine's ProjectionHook contract); dispatch order makes u / g
 * visible to the next step.
 */
import { ceilDiv, ComputeKernel, UniformLayout, type UniformType } from '../kernel';
import activations from './activations.wgsl?raw';
import body from './lora.wgsl?raw';

/** Threads per workgroup (WG in lora.wgsl). */
const WG = 256;
/** Ranks per workgroup of lora_weight_grads (GT in lora.wgsl). */
const GRAD_RANKS = 16;
/** Largest rank sum of a group the kernels take (a mix of adapters adds ranks up; split beyond). */
export const LORA_MAX_RANK = 1024;
/** Most projections in one group (q, k, v). */
export const LORA_MAX_MEMBERS = 3;

const MEMBER_FIELDS = [
	['R', 'u32'],
	['OUT', 'u32'],
	['A', 'u32'],
	['B', 'u32'],
	['r0', 'u32'],
	['col', 'u32'],
	['ld', 'u32'],
	['slot', 'u32'],
	['scale', 'f32'],
	['seed', 'u32'],
	['pa', 'u32'],
	['pb', 'u32']
] as const;

/** lora.wgsl's Params (every entry point): a header, then LORA_MAX_MEMBERS member records. */
export const LORA_PARAMS = new UniformLayout<string>('Params', [
	['T', 'u32'],
	['IN', 'u32'],
	['M', 'u32'],
	['RT', 'u32'],
	['dropout', 'f32'],
	['gelu', 'u32'],
	['pad0', 'u32'],
	['pad1', 'u32'],
	...Array.from({ length: LORA_MAX_MEMBERS }, (_, i) =>
		MEMBER_FIELDS.map(([f, t]) => [`${f}_${i}`, t] as [string, UniformType])
	).flat()
]);

export type Bindable = GPUBuffer | GPUBufferBinding;

/** One projection of a group. */
export interface LoraMember {
	R: number;
	OUT: number;
	/** Float offsets of A [R, IN] and B [OUT, R] in the weights (and gradients) bindings. */
	A: number;
	B: number;
	/** s = alpha / r (or alpha / sqrt(r)). */
	scale: number;
	/** The dropout mask's seed (a different one per module). */
	seed?: number;
	/** Its output / gradient: ys[slot] (dys[slot]), rows of `ld` floats from column `col`. */
	slot?: number;
	ld?: number;
	col?: number;
}

export interface LoraGroup {
	T: number;
	IN: number;
	/** Dropout probability on x (training only; 0 = none). */
	dropout?: number;
	members: LoraMember[];
}

/** One projection's shape (encodeForward / encodeBackward). */
export interface LoraShape {
	T: number;
	IN: number;
	OUT: number;
	R: number;
	scale: number;
	dropout?: number;
	seed?: number;
}

/** The weights: one flat binding P (offsets in the members) or A and B apart (offsets 0). */
export type LoraWeights = { P: Bindable } | { A: Bindable; B: Bindable };
/** The gradients, laid out as the weights. */
export type LoraGrads = { G: Bindable } | { dA: Bindable; dB: Bindable };

const ENTRY_POINTS = ['lora_forward', 'lora_backward_rows', 'lora_weight_grads'] as const;
type EntryPoint = (typeof ENTRY_POINTS)[number];

/** Binding names of an entry point, in binding order (params follow). */
function bindingNames(e: EntryPoint, packed: boolean, slots: number): [string, boolean][] {
	const rw = (n: string): [string, boolean] => [n, true];
	const ro = (n: string): [string, boolean] => [n, false];
	const many = (p: string, f: typeof rw) => Array.from({ length: slots }, (_, i) => f(`${p}${i}`));
	const weights = packed ? [ro('p')] : [ro('a'), ro('b')];
	if (e === 'lora_forward') return [ro('x'), ...weights, rw('u'), ...many('y', rw)];
	if (e === 'lora_backward_rows')
		return [ro('x'), ...weights, ...many('dy', ro), rw('u'), rw('g'), rw('dx')];
	return [
		ro('x'),
		...(packed ? [rw('gr')] : [rw('ga'), rw('gb')]),
		...many('dy', ro),
		ro('u'),
		ro('g')
	];
}

/**
 * The WGSL of one entry point: its bindings and the accessors lora.wgsl reads and writes them
 * through (those of bindings the entry point does not have are empty), then lora.wgsl.
 */
function kernelSource(e: EntryPoint, packed: boolean, slots: number): string {
	const names = bindingNames(e, packed, slots);
	const has = (n: string, write = false) => names.some(([m, w]) => m === n && (w || !write));
	const decls = names.map(
		([n, w], i) =>
			`@group(0) @binding(${i}) var<storage, ${w ? 'read_write' : 'read'}> b_${n}: array<f32>;`
	);
	decls.push(`@group(0) @binding(${names.length}) var<uniform> q: Params;`);
	const load = (fn: string, ...from: string[]) => {
		const n = from.find((b) => has(b));
		return `fn ${fn}(i: u32) -> f32 { return ${n ? `b_${n}[i]` : '0.0'}; }`;
	};
	const store = (fn: string, op: string, ...to: string[]) => {
		const n = to.find((b) => has(b, true));
		return `fn ${fn}(i: u32, v: f32) { ${n ? `b_${n}[i] ${op} v;` : ''} }`;
	};
	const slotted = (fn: string, p: string, write: string | null) => {
		const cases = Array.from({ length: slots }, (_, k) => k)
			.filter((k) => has(`${p}${k}`, write !== null))
			.map((k) =>
				write
					? `if (s == ${k}u) { b_${p}${k}[i] ${write} v; }`
					: `if (s == ${k}u) { return b_${p}${k}[i]; }`
			);
		return write
			? `fn ${fn}(s: u32, i: u32, v: f32) { ${cases.join(' ')} }`
			: `fn ${fn}(s: u32, i: u32) -> f32 { ${cases.join(' ')} return 0.0; }`;
	};
	const accessors = [
		load('ld_x', 'x'),
		load('ld_a', 'p', 'a'),
		load('ld_b', 'p', 'b'),
		load('ld_u', 'u'),
		load('ld_g', 'g'),
		store('st_u', '=', 'u'),
		store('st_g', '=', 'g'),
		store('add_dx', '+=', 'dx'),
		store('add_da', '+=', 'gr', 'ga'),
		store('add_db', '+=', 'gr', 'gb'),
		slotted('ld_y', 'y', null),
		slotted('add_y', 'y', '+='),
		slotted('st_y', 'y', '='),
		slotted('ld_dy', 'dy', null)
	];
	return [...decls, ...accessors, activations, body].join('\n');
}

export class LoraKernel {
	private readonly kernels = new Map<string, ComputeKernel>();
	private readonly maxWorkgroups: number;

	constructor(readonly device: GPUDevice) {
		this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
	}

	private kernel(e: EntryPoint, packed: boolean, slots: number): ComputeKernel {
		const key = `${e}:${packed}:${slots}`;
		let k = this.kernels.get(key);
		if (!k) {
			const code = kernelSource(e, packed, slots);
			k = new ComputeKernel(this.device, { label: 'lora', code, entryPoint: e });
			this.kernels.set(key, k);
		}
		return k;
	}

	/** A 1-D range of workgroups as a grid (2-D past the per-dimension limit). */
	private grid(groups: number, e: string): [number, number] {
		const x = Math.min(groups, this.maxWorkgroups);
		const y = ceilDiv(groups, x);
		if (y > this.maxWorkgroups)
			throw new Error(`lora.${e}: ${groups} workgroups exceed one dispatch`);
		return [x, y];
	}

	private params(g: LoraGroup, slots: number, gelu = 0): ArrayBuffer {
		const M = g.members.length;
		if (M < 1 || M > LORA_MAX_MEMBERS)
			throw new Error(`lora: ${M} projections in a group (1 to ${LORA_MAX_MEMBERS})`);
		const RT = g.members.reduce((n, m) => n + m.R, 0);
		if (RT < 1 || RT > LORA_MAX_RANK)
			throw new Error(`lora: rank ${RT} out of range (1 to ${LORA_MAX_RANK} per group)`);
		const p = g.dropout ?? 0;
		if (!(p >= 0 && p < 1)) throw new Error(`lora: dropout ${p} must be in [0, 1)`);
		const values: Record<string, number> = { T: g.T, IN: g.IN, M, RT, dropout: p, gelu };
		let r0 = 0;
		g.members.forEach((m, i) => {
			const slot = m.slot ?? 0;
			if (slot >= slots) throw new Error(`lora: member ${i} writes slot ${slot} of ${slots}`);
			const fields = {
				...m,
				r0,
				slot,
				ld: m.ld ?? m.OUT,
				col: m.col ?? 0,
				seed: (m.seed ?? 0) >>> 0
			};
			for (const [f] of MEMBER_FIELDS)
				values[`${f}_${i}`] = (fields as Record<string, number>)[f] ?? 0;
			r0 += m.R;
		});
		return LORA_PARAMS.pack(values);
	}

	private dispatch(
		enc: GPUCommandEncoder,
		e: EntryPoint,
		packed: boolean,
		slots: number,
		buffers: Bindable[],
		groups: number,
		params: ArrayBuffer
	): void {
		this.kernel(e, packed, slots).dispatch(enc, buffers, this.grid(groups, e), params);
	}

	/**
	 * u [T, Σ R_m] = x̃ [A_m]ᵀ, then y_m += s_m · u_m B_mᵀ for every member, in one dispatch. With
	 * `gelu` (members gate and up, same OUT, either may have R = 0): act [T, OUT] = gelu_tanh(y_0 +
	 * branch_0) ⊙ (y_1 + branch_1), y_0 / y_1 read only.
	 */
	encodeGroupForward(
		enc: GPUCommandEncoder,
		b: { x: Bindable; u: Bindable; ys: Bindable[] } & LoraWeights,
		g: LoraGroup,
		gelu?: { act: Bindable }
	): void {
		if (gelu && (g.members.length !== 2 || g.members[0].OUT !== g.members[1].OUT))
			throw new Error('lora: the gelu form takes gate and up of the same width');
		const ys = gelu ? [...b.ys, gelu.act] : b.ys;
		const params = this.params(g, ys.length, gelu ? ys.length - 1 : 0);
		const packed = 'P' in b;
		const weights = packed ? [b.P] : [b.A, b.B];
		const buffers = [b.x, ...weights, b.u, ...ys];
		this.dispatch(enc, 'lora_forward', packed, ys.length, buffers, g.T, params);
	}

	/**
	 * From dy_m and the forward's input x: u = x̃ [A_m]ᵀ (recomputed), g_m = dy_m B_m and dx +=
	 * Σ_m s_m·(g_m A_m) ⊙ mask_m (lora_backward_rows), then dB_m += s_m·dy_mᵀu_m and dA_m +=
	 * s_m·g_mᵀx̃_m (lora_weight_grads): two dispatches for the group.
	 */
	encodeGroupBackward(
		enc: GPUCommandEncoder,
		b: { x: Bindable; dys: Bindable[]; dx: Bindable; u: Bindable; g: Bindable } & LoraWeights &
			LoraGrads,
		g: LoraGroup
	): void {
		const slots = b.dys.length;
		const params = this.params(g, slots);
		const packed = 'P' in b;
		if (packed !== 'G' in b) throw new Error('lora: gradients laid out as the weights');
		const weights = 'P' in b ? [b.P] : [b.A, b.B];
		const grads = 'G' in b ? [b.G] : [b.dA, b.dB];
		const rows = [b.x, ...weights, ...b.dys, b.u, b.g, b.dx];
		this.dispatch(enc, 'lora_backward_rows', packed, slots, rows, g.T, params);
		const groups = g.members.reduce(
			(n, m) => n + (ceilDiv(g.IN, WG) + ceilDiv(m.OUT, WG)) * ceilDiv(m.R, GRAD_RANKS),
			0
		);
		const wgrads = [b.x, ...grads, ...b.dys, b.u, b.g];
		this.dispatch(enc, 'lora_weight_grads', packed, slots, wgrads, groups, params);
	}

	/** One projection: u [T, R] = x̃ Aᵀ, then y [T, OUT] += s · u Bᵀ. */
	encodeForward(
		enc: GPUCommandEncoder,
		b: { x: Bindable; A: Bindable; B: Bindable; u: Bindable; y: Bindable },
		s: LoraShape
	): void {
		this.encodeGroupForward(enc, { x: b.x, A: b.A, B: b.B, u: b.u, ys: [b.y] }, single(s));
	}

	/** One projection's backward (encodeGroupBackward with one member). */
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
		this.encodeGroupBackward(enc, { ...b, dys: [b.dy] }, single(s));
	}
}

/** A group of one projection whose A and B are bound apart. */
function single(s: LoraShape): LoraGroup {
	const { T, IN, dropout, OUT, R, scale, seed } = s;
	return { T, IN, dropout, members: [{ R, OUT, A: 0, B: 0, scale, seed }] };
}
