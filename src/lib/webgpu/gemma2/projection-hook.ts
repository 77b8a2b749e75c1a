/**
 * The LoRA seam by groups of projections that share their input (q | k | v, gate | up): a hook
 * that implements `encodeShared` adds the branches of a whole group at once (one dispatch instead
 * of one per projection), and may then serve the fused decode, whose q, k, v land side by side in
 * one buffer and whose gate and up meet in a gelu epilogue. A plain ProjectionHook is called per
 * projection, as before.
 */
import type { ProjectionName } from '../../model/weights';
import type { LoraBackwardHook } from './backward';
import type { ProjectionHook } from './layer';

/** Where a projection's output y [T, out] lives: rows of `ld` floats (default out), from `col`. */
export interface ProjectionOut {
	buffer: GPUBuffer;
	ld?: number;
	col?: number;
}

export interface SharedProjectionHook extends ProjectionHook {
	/** Whether any of `projs` has a branch at `layer`. */
	adapts(layer: number, projs: readonly ProjectionName[]): boolean;
	/**
	 * ys[i] += s·B(A x) for every adapted projs[i] (all reading x [T, in]). With `gelu` (projs =
	 * gate, up; ys their base outputs, read only): gelu [T, out] = gelu_tanh(gate + its branch) ⊙
	 * (up + its branch). Inside an open compute pass, as ProjectionHook.encode.
	 */
	encodeShared(
		enc: GPUCommandEncoder,
		layer: number,
		projs: readonly ProjectionName[],
		x: GPUBuffer,
		ys: ProjectionOut[],
		T: number,
		gelu?: GPUBuffer
	): void;
}

export interface SharedBackwardHook extends LoraBackwardHook, SharedProjectionHook {
	/** encodeBackward for projections sharing x: dys[i] is ∂/∂ys[i]; every branch adds into dx. */
	encodeBackwardShared(
		enc: GPUCommandEncoder,
		layer: number,
		projs: readonly ProjectionName[],
		x: GPUBuffer,
		dys: GPUBuffer[],
		dx: GPUBuffer,
		T: number
	): void;
}

/** encodeShared's arguments. */
export type SharedForwardArgs = Parameters<SharedProjectionHook['encodeShared']>;
/** encodeBackwardShared's arguments. */
export type SharedBackwardArgs = Parameters<SharedBackwardHook['encodeBackwardShared']>;

export function isSharedHook(h: ProjectionHook | null): h is SharedProjectionHook {
	return typeof (h as Partial<SharedProjectionHook> | null)?.encodeShared === 'function';
}

/** ys[i] += the hook's branch of projs[i], all reading x: by group where the hook can. */
export function encodeBranches(
	hook: ProjectionHook | null,
	enc: GPUCommandEncoder,
	layer: number,
	projs: readonly ProjectionName[],
	x: GPUBuffer,
	ys: GPUBuffer[],
	T: number
): void {
	if (isSharedHook(hook))
		hook.encodeShared(
			enc,
			layer,
			projs,
			x,
			ys.map((buffer) => ({ buffer })),
			T
		);
	else projs.forEach((p, i) => hook?.encode(enc, layer, p, x, ys[i], T));
}

/** The branches' backward for projections sharing x (dys[i] = ∂/∂ys[i]), by group where it can. */
export function encodeBranchesBackward(
	hook: LoraBackwardHook | null,
	...args: SharedBackwardArgs
): void {
	const [enc, layer, projs, x, dys, dx, T] = args;
	if (typeof (hook as Partial<SharedBackwardHook> | null)?.encodeBackwardShared === 'function')
		(hook as SharedBackwardHook).encodeBackwardShared(...args);
	else projs.forEach((p, i) => hook?.encodeBackward(enc, layer, p, x, dys[i], dx, T));
}
