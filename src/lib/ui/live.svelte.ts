/**
 * Dexie's liveQuery as Svelte 5 state: `const rows = live(() => db.x.toArray(), [])` then read
 * `rows.value` in the template. Call it during component initialisation (it registers an $effect
 * that subscribes on mount and unsubscribes on destroy). The query must not read Svelte state:
 * it is run untracked, and refreshed by Dexie when the tables it read change.
 */
import { liveQuery } from 'dexie';
import { untrack } from 'svelte';

export function live<T>(query: () => Promise<T>, initial: T): { readonly value: T } {
	const box = $state({ value: initial });
	$effect(() => {
		const subscription = untrack(() =>
			liveQuery(query).subscribe({
				next: (value) => {
					box.value = value;
				},
				error: (error) => console.error('live query failed', error)
			})
		);
		return () => subscription.unsubscribe();
	});
	return box;
}
