/**
 * Deterministic randomness for the studio: seeds for generation jobs, dataset shuffles, content
 * fingerprints. Everything here is reproducible across browsers and Node (32-bit integer maths only).
 * The PRNG is the app's one mulberry32 ($lib/random).
 */

import { mulberry32 } from '../random';

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function fmix32(h: number): number {
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/**
 * A child seed from a parent seed and a path of integers (e.g. job seed + dialogue index + turn):
 * h = fmix32(h ^ part + golden-ratio constant) for each part. Same inputs, same seed, everywhere.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
	let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
	for (const part of path) h = fmix32((h ^ (part >>> 0)) + 0x9e3779b9);
	return h;
}

/** Fisher–Yates shuffle driven by mulberry32(seed); returns a new array, the input is untouched. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
	const out = items.slice();
	const random = mulberry32(seed);
	for (let i = out.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[out[i], out[j]] = [out[j], out[i]];
	}
	return out;
}

/** FNV-1a over the UTF-16 code units of a string, as 8 hex digits (content fingerprints, not security). */
export function fnv1a(text: string): string {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(16).padStart(8, '0');
}

/** JSON with object keys sorted, so equal data gives an equal string (for fingerprints). */
export function stableStringify(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
	if (value && typeof value === 'object') {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
	}
	return JSON.stringify(value) ?? 'null';
}
