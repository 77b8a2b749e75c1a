/**
 * Labels as transformers reads them, shared by the GPU backward, the trainer and the float64
 * reference: −100 is not supervised, and the loss is shifted (the logits at position t predict
 * labels[t + 1]).
 */

/** Labels with this value are not supervised (transformers' ignore_index). */
export const IGNORE_INDEX = -100;

/** The supervised targets of a sequence: logits row `positions[i]` predicts `targets[i]`. */
export function shiftedTargets(labels: ArrayLike<number>): {
	positions: number[];
	targets: number[];
} {
	const positions: number[] = [];
	const targets: number[] = [];
	for (let t = 0; t + 1 < labels.length; t++) {
		if (labels[t + 1] === IGNORE_INDEX) continue;
		positions.push(t);
		targets.push(labels[t + 1]);
	}
	return { positions, targets };
}

/**
 * The Trainer's `num_items_in_batch` for one optimizer step: Σ over its micro-batches of
 * `labels.ne(-100).sum()` — on the UNshifted labels (transformers 4.46–4.57 `get_batch_samples`),
 * so a supervised labels[0], which is never a target, is still counted. Our chat examples always
 * have labels[0] = −100 (BOS), where this equals the number of targets.
 */
export function trainerNumItemsInBatch(batches: { labels: ArrayLike<number> }[]): number {
	let n = 0;
	for (const b of batches)
		for (let t = 0; t < b.labels.length; t++) if (b.labels[t] !== IGNORE_INDEX) n++;
	return n;
}
