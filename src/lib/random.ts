/**
 * The one seeded PRNG of the app, its trainer and its float64 reference: mulberry32 (Tommy
 * Ettinger's 32-bit generator; one uint32 of state, period 2^32). Not cryptographic; small, fast and
 * the same sequence in every browser and in Node (32-bit integer maths only), which is what seeded
 * initialisation, shuffles and sampling need.
 */

/** A function returning floats in [0, 1), seeded with a uint32. */
export type Random = () => number;

export function mulberry32(seed: number): Random {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
