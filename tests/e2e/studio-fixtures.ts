/** What the Train and Adapters e2e tests share: a chat JSONL, the tiny model, IndexedDB counts. */
import { expect, type Page } from '@playwright/test';

/** A JSONL of {"messages": [user, assistant]} rows. */
export function chatJsonl(pairs: [user: string, model: string][]): Buffer {
	return Buffer.from(
		pairs
			.map(([u, m]) =>
				JSON.stringify({
					messages: [
						{ role: 'user', content: u },
						{ role: 'assistant', content: m }
					]
				})
			)
			.join('\n')
	);
}

/** Loads the tiny MLC fixture through the page's model picker (unfolding it where it starts folded). */
export async function loadTinyModel(page: Page): Promise<void> {
	if (!(await page.getByTestId('source-url').isVisible()))
		await page.getByTestId('model-picker').locator('summary').click();
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 90_000 });
}

/** Records in one object store of the studio's database, read straight from IndexedDB. */
export async function storedCount(page: Page, store: string): Promise<number> {
	return page.evaluate(
		(name) =>
			new Promise<number>((resolve, reject) => {
				const open = indexedDB.open('mondo-studio');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const req = open.result.transaction(name).objectStore(name).count();
					req.onsuccess = () => {
						resolve(req.result);
						open.result.close();
					};
				};
			}),
		store
	);
}
