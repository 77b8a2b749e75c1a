/**
 * What a reply's end and a judge's score are made of, as plain functions over numbers.
 */
import type { ChatResult } from './types';
import { tokenOutOfRange } from './errors';

/**
 * Why a reply ended: an end-of-turn token; the user's stop; the context filled up; else the
 * `maxNewTokens` budget ('length').
 */
export function stopReason(r: {
	endOfTurn: boolean;
	aborted: boolean;
	/** Prompt plus generated tokens, and the engine's context. */
	tokens: number;
	limit: number;
}): ChatResult['stopReason'] {
	if (r.aborted) return 'stopped';
	if (r.endOfTurn) return 'end-of-turn';
	return r.tokens >= r.limit ? 'context-full' : 'length';
}

/**
 * Softmax over the whole vocabulary (the logits after the final softcap), read at `tokenIds`: the
 * probabilities a G-Eval judge weighs its scores with.
 */
export function nextTokenProbabilities(logits: Float32Array, tokenIds: number[]): number[] {
	let max = -Infinity;
	for (const x of logits) if (x > max) max = x;
	let sum = 0;
	for (const x of logits) sum += Math.exp(x - max);
	return tokenIds.map((id) => {
		if (!(Number.isInteger(id) && id >= 0 && id < logits.length))
			throw tokenOutOfRange({ id, vocabSize: logits.length });
		return Math.exp(logits[id] - max) / sum;
	});
}
