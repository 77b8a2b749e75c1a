/**
 * GPU sampling of the next token from one row of logits [V]; see sampling.wgsl for the exact
 * semantics (Hugging Face's: repetition penalty, temperature, top-k, then top-p, at least one
 * token kept). Randomness comes from the caller as one uniform u ∈ [0, 1) per step, so a seeded
 * generator on the CPU makes generation reproducible.
 */
import { ceilDiv, ComputeKernel, packUniforms } from '../kernel';
import code from './sampling.wgsl?raw';

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

/** Threads of the penalty entry point (workgroup_size of repetition_penalty). */
const PENALTY_THREADS = 64;

export class SamplingKernel {
	private readonly penalty: ComputeKernel;
	private readonly sample: ComputeKernel;

	constructor(readonly device: GPUDevice) {
		this.penalty = new ComputeKernel(device, {
			label: 'sampling',
			code,
			entryPoint: 'repetition_penalty'
		});
		this.sample = new ComputeKernel(device, { label: 'sampling', code, entryPoint: 'sample' });
	}

	/**
	 * logits [V] (modified in place by the repetition penalty) → out[0] = chosen id.
	 * `prev` holds `nPrev` DISTINCT ids (each is penalised once); pass nPrev = 0 to skip.
	 */
	encode(
		enc: GPUCommandEncoder,
		args: { logits: GPUBuffer; prev: GPUBuffer; nPrev: number; out: GPUBuffer },
		V: number,
		params: SamplingParams,
		u: number
	): void {
		const temperature = params.temperature ?? 1;
		const penalty = params.repetitionPenalty ?? 1;
		const uniforms = packUniforms([
			['u', V],
			['u', args.nPrev],
			['f', temperature],
			['u', Math.max(0, Math.floor(params.topK ?? 0))],
			['f', params.topP ?? 1],
			['f', penalty],
			['f', Math.min(Math.max(u, 0), 1 - 2 ** -24)]
		]);
		if (penalty !== 1 && args.nPrev > 0)
			this.penalty.dispatch(
				enc,
				[args.logits, args.prev],
				[ceilDiv(args.nPrev, PENALTY_THREADS)],
				uniforms
			);
		this.sample.dispatch(enc, [args.logits, args.out], [1], uniforms);
	}
}
