/** Shared inputs of the backward tests (backward-model, backward-accumulate). */
import { ALL_PROJECTIONS, type LoraConfig } from '../../src/lib/lora/config';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';

// 13 tokens: longer than the tiny model's sliding window (4), so even layers really mask.
export const IDS = [2, 17, 300, 45, 45, 9, 511, 106, 64, 7, 250, 107, 33];
// labels[0] and a few inside are ignored; the rest supervise the shifted next token
export const LABELS = IDS.map((id, t) => ([0, 1, 2, 6].includes(t) ? -100 : id));

export const LORA: LoraConfig = {
	r: 2,
	lora_alpha: 6,
	lora_dropout: 0,
	target_modules: [...ALL_PROJECTIONS],
	use_rslora: false,
	layers_to_transform: null,
	rank_pattern: {},
	alpha_pattern: {}
};

/** A fresh adapter (PEFT init) with B made non-zero, so that dA is not trivially zero. */
export function adapterWithB(seed: number): LoraAdapter {
	const a = createLoraAdapter(TINY_CONFIG, LORA, seed);
	const rnd = seededRandom(seed + 1);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround((rnd() * 2 - 1) * 0.2);
	return a;
}

/** Max |a − b| relative to the reference tensor's max |b|. */
export function tensorErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let num = 0,
		den = 1e-30;
	for (let i = 0; i < b.length; i++) {
		num = Math.max(num, Math.abs(a[i] - b[i]));
		den = Math.max(den, Math.abs(b[i]));
	}
	return num / den;
}
