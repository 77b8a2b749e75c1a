/**
 * Issue 12 · big imports run off the page's main thread, and closing the page in the middle of
 * one leaves the database with the whole dataset or none of it.
 */
import { expect, test, type Page } from '@playwright/test';

const N = 60_000;
const line = (i: number) =>
	JSON.stringify({
		messages: [
			{ role: 'user', content: `Question ${i}: what is virtue, and can it be taught?` },
			{ role: 'assistant', content: `Answer ${i}: shall we first ask what virtue is?` }
		]
	});
const BIG = Buffer.from(Array.from({ length: N }, (_, i) => line(i)).join('\n'));

/** Every dataset named `name` in the studio's IndexedDB, with its example count. */
async function datasetsNamed(page: Page, name: string): Promise<number[]> {
	return page.evaluate(
		(name) =>
			new Promise<number[]>((ok, fail) => {
				const open = indexedDB.open('mondo-studio');
				open.onerror = () => fail(open.error);
				open.onsuccess = () => {
					const db = open.result;
					if (!db.objectStoreNames.contains('datasets')) return ok([]);
					const req = db.transaction('datasets').objectStore('datasets').getAll();
					req.onsuccess = () => {
						db.close();
						ok(
							(req.result as { name: string; train: unknown[]; eval: unknown[] }[])
								.filter((d) => d.name === name)
								.map((d) => d.train.length + d.eval.length)
						);
					};
					req.onerror = () => fail(req.error);
				};
			}),
		name
	);
}

test('a big JSONL imports off the main thread: the page keeps answering while it parses', async ({
	page
}) => {
	await page.goto('/studio/datasets');
	await page.locator('#i-name').fill('big-import');
	await page.getByTestId('dataset-import-file').setInputFiles({
		name: 'big-import.jsonl',
		mimeType: 'application/jsonl',
		buffer: BIG
	});
	// the main thread is free: a timer keeps firing while the file is read and parsed
	const ticks = await page.evaluate(
		() =>
			new Promise<number>((ok) => {
				let n = 0;
				const id = setInterval(() => n++, 10);
				setTimeout(() => (clearInterval(id), ok(n)), 500);
			})
	);
	expect(ticks).toBeGreaterThan(5);
	await expect(page.getByTestId('import-notice')).toContainText(
		`Imported ${N.toLocaleString('en-US')} examples`,
		{
			timeout: 120_000
		}
	);
	expect(await datasetsNamed(page, 'big-import')).toEqual([N]);
});

test('closing the page during an import leaves the whole dataset or none', async ({
	page,
	context
}) => {
	await page.goto('/studio/datasets');
	await page.locator('#i-name').fill('closed-mid-import');
	await page.getByTestId('dataset-import-file').setInputFiles({
		name: 'closed-mid-import.jsonl',
		mimeType: 'application/jsonl',
		buffer: BIG
	});
	await page.waitForTimeout(150);
	await page.close();
	const again = await context.newPage();
	await again.goto('/studio/datasets');
	const found = await datasetsNamed(again, 'closed-mid-import');
	expect(found.length).toBeLessThanOrEqual(1);
	for (const count of found) expect(count).toBe(N);
});
