/**
 * A form's save action: runs once at a time (a second submit while saving does nothing) and keeps
 * the problems that kept it from saving, for the form to list.
 */
export class FormAction {
	busy = $state(false);
	problems = $state<string[]>([]);

	constructor(
		private readonly problemsOf: (error: unknown) => string[] = (e) => [
			String((e as Error)?.message ?? e)
		]
	) {}

	/** The action's result, or undefined when it failed (see `problems`) or one was already running. */
	async run<T>(action: () => Promise<T>): Promise<T | undefined> {
		if (this.busy) return undefined;
		this.busy = true;
		this.problems = [];
		try {
			return await action();
		} catch (error) {
			this.problems = this.problemsOf(error);
			return undefined;
		} finally {
			this.busy = false;
		}
	}

	/** An onsubmit handler: keeps the page where it is, runs `action`, and gives a result to `done`. */
	submit<T>(
		action: () => Promise<T>,
		done: (result: T) => void
	): (e: SubmitEvent) => Promise<void> {
		return async (e) => {
			e.preventDefault();
			const result = await this.run(action);
			if (result !== undefined) done(result);
		};
	}
}
