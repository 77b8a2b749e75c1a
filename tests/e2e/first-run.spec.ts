import { expect, test, type Page } from '@playwright/test';

// The first hour (issue 15): the home page says what to do first and what it costs, checks this
// machine before any download; a failed load says what happened and what to try next, in the UI
// language, clears when the source changes and leaves no empty cached model behind.

async function setLocale(page: Page, locale: 'en' | 'ja') {
	await page.addInitScript((l) => localStorage.setItem('mondo.locale', l), locale);
}

test('home: the first step, its cost and this machine’s check (en and ja)', async ({ page }) => {
	await page.goto('/');
	const first = page.getByTestId('first-run');
	await expect(first.getByTestId('first-cost')).toContainText('GiB');
	await expect(first.getByTestId('first-time')).toContainText(/Mbit|\/s/);
	await expect(first.getByTestId('first-cta')).toHaveAttribute('href', '/chat');
	// SwiftShader in the tests: runs, slowly, and the check says so with its limits
	const check = page.getByTestId('machine-check');
	await expect(check).toHaveAttribute('data-verdict', 'slow');
	await expect(check.getByTestId('check-webgpu')).toHaveAttribute('data-ok', 'true');
	await expect(check.getByTestId('check-storageBinding')).toContainText('MiB');
	await expect(check.getByTestId('check-hardware')).toHaveAttribute('data-ok', 'false');

	await setLocale(page, 'ja');
	await page.reload();
	await expect(page.getByTestId('first-run')).toContainText('最初にすること');
	await expect(page.getByTestId('machine-check')).toContainText('ソフトウェア GPU');
});

test('a failed hub load explains itself in Japanese, offers next steps, clears on a new source, leaves no 0-byte cache', async ({
	page
}) => {
	await setLocale(page, 'ja');
	// a mirror nothing listens on: the download fails as it does offline, without touching the hub
	await page.goto('/settings');
	await page.getByTestId('mirror-input').fill('http://127.0.0.1:9/hub');
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText('http://127.0.0.1:9/hub');

	await page.goto('/chat');
	await page.getByTestId('load-model').click();
	const error = page.getByTestId('load-error');
	await expect(error).toBeVisible({ timeout: 120_000 });
	await expect(error).toHaveAttribute('data-kind', 'offline');
	await expect(error).toContainText('ダウンロードできませんでした');
	await expect(error.getByTestId('load-retry')).toBeVisible();
	await expect(error.getByTestId('load-use-folder')).toBeVisible();
	await expect(error.getByTestId('load-use-mirror')).toHaveAttribute('href', '/settings');
	// another source: the old error is gone
	await error.getByTestId('load-use-url').click();
	await expect(page.getByTestId('model-url')).toBeVisible();
	await expect(page.getByTestId('load-error')).toHaveCount(0);

	await page.goto('/settings');
	await expect(page.getByTestId('offline-models')).toHaveText(/^\s*0\s*$/);
	await expect(page.getByTestId('cached-model')).toHaveCount(0);
	expect(
		await page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('mondo-hub:')))
	).toEqual([]);
	// the app shell may be cached, but with no model Settings does not claim "ready offline"
	await expect(page.getByTestId('offline-ready')).toHaveAttribute('data-ready', 'false');
});
