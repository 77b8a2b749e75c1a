/**
 * Writes that must land whole or not at all (a dataset import, a training checkpoint, an adapter):
 * one Dexie transaction, so a full quota (QuotaExceededError) or a page closed half-way leaves the
 * database as it was — IndexedDB commits a transaction entirely or aborts it entirely — and a full
 * quota becomes a StorageFullError the page can explain.
 */
import type { Dexie, Table } from 'dexie';

export class StorageFullError extends Error {
	constructor(
		/** What was not saved (a dataset's or adapter's name, "checkpoint at step 40"). */
		readonly what: string,
		readonly cause: unknown
	) {
		super(
			`the browser's storage for this site is full: ${what} was not saved (nothing half-written was kept)`
		);
		this.name = 'StorageFullError';
	}
}

/** A quota failure as the browser, fake-indexeddb or Dexie (which wraps it) reports it. */
export function isQuotaError(e: unknown): boolean {
	for (let x = e as { name?: string; inner?: unknown; cause?: unknown } | undefined; x;) {
		if (x.name === 'QuotaExceededError') return true;
		x = (x.inner ?? x.cause) as typeof x;
	}
	return false;
}

/** Run `write` in one read-write transaction over `tables`; a full quota → StorageFullError. */
export async function writeWhole<T>(
	db: Dexie,
	tables: Table[],
	what: string,
	write: () => Promise<T>
): Promise<T> {
	try {
		return await db.transaction('rw', tables, write);
	} catch (e) {
		if (isQuotaError(e)) throw new StorageFullError(what, e);
		throw e;
	}
}
