/**
 * GPU sampling of the next token from one row of logits [V]; see sampling.wgsl for the exact
 * semantics (Hugging Face's: repetition penalty, temperature, top-k, then top-p, at least one
 * token kept) and the passes. Every pass over the vocabulary spreads over ceil(V / 1024)
 * workgroups; a one-workgroup pass after each combines their partials. Randomness comes from the
 * caller as one uniform u ∈ [0, 1) per step, so a seeded generator on the CPU makes generation
 * reproducible.
 */
import { ceilDiv, ComputeKernel, UniformLayout } from '../kernel';
import { KernelBindings } from '../kernel-bindings';
import sampling from './sampling.wgsl?raw';

export interface SamplingParams {
	/** ≤ 0 = greedy (argmax). Default 1. */
	temperature?: number;
	/** 0 = off. */
	topK?: number;
	/** ≥ 1 = off. */
	topP?: number;
	/** 1 = off; HF semantics (divide positive logits, multiply negative ones). */
	repetitionPenalty?: number;
}

/** Ids per workgroup (CHUNK in sampling.wgsl). */
const CHUNK = 1024;
/** Radix bins per round (BINS in sampling.wgsl). */
const BINS = 256;
/** Radix rounds of a threshold: 8 bits of the 32-bit key each. */
const ROUNDS = 4;

/** sampling.wgsl's Params (every entry point). */
export const SAMPLING_PARAMS = new UniformLayout('Params', [
	['V', 'u32'],
	['G', 'u32'],
	['temperature', 'f32'],
	['penalty', 'f32'],
	['topK', 'u32'],
	['topP', 'f32'],
	['u', 'f32'],
	['round', 'u32'],
	['mode', 'u32']
] as const);

/** The passes over the vocabulary: logits, the penalty set, the scratch; then their parameters. */
const VOCAB = {
	logits: 'read',
	seen: 'read_write u32',
	scratch: 'read_write u32',
	pa: SAMPLING_PARAMS
} as const;
/** The one-workgroup passes that may choose the id bind `out` before their parameters. */
const FINAL = {
	logits: 'read',
	seen: 'read_write u32',
	scratch: 'read_write u32',
	out: 'read_write u32',
	pb: SAMPLING_PARAMS
} as const;

/** sampling.wgsl's bindings, per entry point. */
export const SAMPLING_BINDINGS = new KernelBindings('sampling', {
	extremes: VOCAB,
	extremes_final: FINAL,
	hist: VOCAB,
	select_bin: VOCAB,
	mass: VOCAB,
	draw: FINAL
});
const code = SAMPLING_BINDINGS.wgsl + sampling;

/** Bytes of the scratch buffer the passes share (state + per-workgroup partials) for V ids. */
export function samplingScratchBytes(V: number): number {
	return (16 + 2 * ceilDiv(V, CHUNK) * BINS) * 4;
}

/** Bytes of the repetition penalty's id set (a bitset over V). */
export function penaltySetBytes(V: number): number {
	return ceilDiv(V, 32) * 4;
}

/** The repetition penalty's id set for `ids` (ids outside [0, V) are ignored). */
export function penaltySet(ids: Iterable<number>, V: number): Uint32Array<ArrayBuffer> {
	const bits = new Uint32Array(penaltySetBytes(V) / 4);
	for (const id of ids)
		if (Number.isInteger(id) && id >= 0 && id < V) bits[id >>> 5] |= 1 << (id & 31);
	return bits;
}

/** Whether `params` pick the argmax (no draw). */
export function isGreedy(params: SamplingParams): boolean {
	return (params.temperature ?? 1) <= 0 || params.topK === 1;
}

export interface SamplingBuffers {
	/** [V] f32, read only. */
	logits: GPUBuffer | GPUBufferBinding;
	/** penaltySet: the ids the repetition penalty applies to; the chosen id is added to it. */
	seen: GPUBuffer;
	/** samplingScratchBytes(V). */
	scratch: GPUBuffer;
	/** out[0] = the chosen id (u32). */
	out: GPUBuffer | GPUBufferBinding;
}

type Entry = 'extremes' | 'extremes_final' | 'hist' | 'select_bin' | 'mass' | 'draw';
const ENTRIES: Entry[] = ['extremes', 'extremes_final', 'hist', 'select_bin', 'mass', 'draw'];

export class SamplingKernel {
	private readonly kernels: Record<Entry, ComputeKernel>;

	constructor(readonly device: GPUDevice) {
		this.kernels = Object.fromEntries(
			ENTRIES.map((entryPoint) => [
				entryPoint,
				new ComputeKernel(device, { label: 'sampling', code, entryPoint })
			])
		) as Record<Entry, ComputeKernel>;
	}

	/**
	 * Encodes the passes that leave the chosen id in out[0]: 2 dispatches when greedy, else 4, plus
	 * 8 for top-k and 8 for top-p. Only the last pass's uniforms depend on `u`, so with kept
	 * uniform slots a token rewrites one of them.
	 */
	encode(
		enc: GPUCommandEncoder,
		b: SamplingBuffers,
		V: number,
		params: SamplingParams,
		u: number
	): void {
		const G = ceilDiv(V, CHUNK);
		const temperature = params.temperature ?? 1;
		const topK = Math.max(0, Math.floor(params.topK ?? 0));
		const topP = params.topP ?? 1;
		const uniforms = (o: { u?: number; round?: number; mode?: number } = {}) =>
			SAMPLING_PARAMS.pack({
				V,
				G,
				temperature,
				penalty: params.repetitionPenalty ?? 1,
				topK,
				topP,
				u: Math.min(Math.max(o.u ?? 0, 0), 1 - 2 ** -24),
				round: o.round ?? 0,
				mode: o.mode ?? 0
			});
		const k = this.kernels;
		const { logits, seen, scratch, out } = b;
		const vocab = SAMPLING_BINDINGS.order('extremes', { logits, seen, scratch });
		const final = SAMPLING_BINDINGS.order('draw', { logits, seen, scratch, out });
		k.extremes.dispatch(enc, vocab, [G], uniforms());
		k.extremes_final.dispatch(enc, final, [1], uniforms());
		if (isGreedy(params)) return;
		const modes = [topK > 0 && topK < V, topP < 1];
		modes.forEach((on, mode) => {
			if (!on) return;
			for (let round = 0; round < ROUNDS; round++) {
				k.hist.dispatch(enc, vocab, [G], uniforms({ round, mode }));
				k.select_bin.dispatch(enc, vocab, [1], uniforms({ round, mode }));
			}
		});
		k.mass.dispatch(enc, vocab, [G], uniforms());
		k.draw.dispatch(enc, final, [1], uniforms({ u }));
	}
}
