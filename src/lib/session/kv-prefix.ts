/**
 * The token ids whose keys and values the engine's KV cache holds, kept beside that cache: a chat's
 * next turn repeats the whole conversation, so only the tokens past what the cache already holds
 * are fed again (the earlier turns' prefill is reused).
 */

/** What the prefix needs of the engine (Gemma2Engine has it). */
export interface ResettableCache {
	/** Empties the KV cache. */
	reset(): void;
}

export class KvPrefix {
	private held: number[] = [];

	constructor(private readonly cache: ResettableCache) {}

	/** Tokens the cache holds now. */
	get length(): number {
		return this.held.length;
	}

	/**
	 * Prepares the cache for a prompt: kept when `ids` extends what it holds, else emptied. Returns
	 * the tokens still to feed and how many were reused. The engine appends `fresh` first thing, so
	 * the prefix records `ids` at once.
	 */
	extend(ids: number[]): { fresh: number[]; reused: number } {
		const reusable =
			this.held.length > 0 &&
			this.held.length <= ids.length &&
			this.held.every((id, i) => ids[i] === id);
		if (!reusable) this.reset();
		const reused = this.held.length;
		this.held = ids;
		return { fresh: ids.slice(reused), reused };
	}

	/**
	 * After a reply: the cache holds the prompt and every sampled token but the last (each one was
	 * fed back to sample the next; the last never was).
	 */
	generated(prompt: number[], sampled: number[]): void {
		this.held = [...prompt, ...sampled.slice(0, -1)];
	}

	/** Empties the cache (and forgets what it held). */
	reset(): void {
		this.cache.reset();
		this.held = [];
	}

	/** Forgets what the cache held without touching it (someone else emptied or replaced it). */
	forget(): void {
		this.held = [];
	}
}
