/**
 * The state of one long step on a page (building a dataset, counting tokens): what it is doing,
 * how far it is, and the time left at the pace so far. `begin` returns false while a step runs,
 * so an action started twice (a double click) runs once.
 */
export class WorkProgress {
	active = $state(false);
	label = $state('');
	done = $state(0);
	total = $state<number | null>(null);
	etaSeconds = $state<number | null>(null);
	#started = 0;

	begin(label: string): boolean {
		if (this.active) return false;
		this.active = true;
		this.phase(label);
		return true;
	}

	/** A new phase of the same step: the count and the time left start again. */
	phase(label: string, total: number | null = null): void {
		this.label = label;
		this.done = 0;
		this.total = total;
		this.etaSeconds = null;
		this.#started = performance.now();
	}

	update(done: number, total: number): void {
		this.done = done;
		this.total = total;
		const seconds = (performance.now() - this.#started) / 1000;
		this.etaSeconds = done > 0 && done < total ? (seconds / done) * (total - done) : null;
	}

	end(): void {
		this.active = false;
		this.etaSeconds = null;
	}
}
