import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';

// HTML in user text must stay text: a chat message, a character's name and prompt, an imported
// file, a share link's character prompt. The page's CSP would also block inline scripts; these tests
// check the rendering itself (no element is created), not only the CSP.
const IMG = '<img src=x onerror=window.__pwned=1>';
const SCRIPT = '<script>window.__pwned=1</script>';

async function expectInert(page: Page) {
	expect(
		await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)
	).toBeUndefined();
	expect(await page.locator('main img[src="x"]').count()).toBe(0);
	expect(await page.locator('main script').count()).toBe(0);
}

test('a chat message with HTML renders as text', async ({ page }) => {
	await page.goto('/chat');
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toBeVisible({ timeout: 180_000 });
	await page.getByText('Sampling ·').click();
	await page.getByLabel('Max new tokens').fill('2');
	await page.getByTestId('chat-input').fill(`${IMG} and ${SCRIPT}`);
	await page.getByTestId('chat-send').click();
	await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 180_000 });
	await expect(page.getByTestId('msg-user')).toContainText(IMG);
	await expect(page.getByTestId('msg-user')).toContainText(SCRIPT);
	await page.reload();
	await page.getByTestId('chat-sessions').getByRole('button').first().click();
	await expect(page.getByTestId('msg-user')).toContainText(IMG);
	await expectInert(page);
});

test('a character named with HTML, and an imported file full of it, render as text', async ({
	page
}) => {
	await page.goto('/studio/characters');
	await page.getByTestId('character-new').click();
	await page.getByTestId('character-name').fill(IMG);
	await page.getByTestId('character-profile').fill(SCRIPT);
	await page.getByTestId('character-prompt').fill(`${SCRIPT}${IMG}`);
	await page.getByTestId('character-save').click();
	await expect(page.getByTestId('character-item-name').filter({ hasText: IMG })).toHaveCount(1);
	await expectInert(page);

	// export, swap the name for the other payload, import the file back
	const download = page.waitForEvent('download');
	await page.getByTestId('characters-export-all').click();
	const file = JSON.parse(readFileSync(await (await download).path(), 'utf8'));
	const swap = (v: unknown): unknown =>
		typeof v === 'string'
			? v.split(IMG).join(`${SCRIPT} imported`)
			: Array.isArray(v)
				? v.map(swap)
				: v && typeof v === 'object'
					? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'id' ? x : swap(x)]))
					: v;
	await page.getByTestId('characters-import').setInputFiles({
		name: 'payload.characters.json',
		mimeType: 'application/json',
		buffer: Buffer.from(JSON.stringify(swap(file)))
	});
	await expect(
		page.getByTestId('characters-notice').or(page.getByTestId('characters-import-errors'))
	).toBeVisible();
	await expect(
		page.getByTestId('character-item-name').filter({ hasText: `${SCRIPT} imported` })
	).toHaveCount(1);
	await expectInert(page);
});

test('a share link whose character prompt is HTML shows it as text', async ({ page }) => {
	const state = {
		v: 1,
		model: { kind: 'url', url: '/models/tiny-mlc/' },
		characterPrompt: `${IMG}${SCRIPT}`
	};
	await page.goto(`/chat#share=${Buffer.from(JSON.stringify(state)).toString('base64url')}`);
	await expect(page.getByTestId('share-open-prompt')).toHaveText(`${IMG}${SCRIPT}`);
	await expectInert(page);
});
