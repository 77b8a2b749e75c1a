import { expect, test, type Page } from '@playwright/test';

const REPO = 'test-org/tiny-gemma2-mlc';

async function waitForServiceWorker(page: Page) {
	await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
	await expect
		.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null))
		.toBe(true);
}

async function loadHubModel(page: Page) {
	await page.locator('#repo').fill(REPO);
	await page.locator('#rev').fill('main');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText(REPO, { timeout: 240_000 });
}

test('visited once and a model loaded once: the studio reloads and answers with no network', async ({
	page,
	context,
	baseURL
}) => {
	// the built app runs under its Content-Security-Policy without a single violation
	const violations: string[] = [];
	page.on('console', (m) => {
		if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
	});
	// the fixtures are served in the hub's layout at /models/hub/{repo}/resolve/{rev}/{file}
	const mirror = `${baseURL}/models/hub`;
	await page.goto('/settings');
	await waitForServiceWorker(page);
	await page.getByTestId('mirror-input').fill(mirror);
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(mirror);
	await expect(page.getByTestId('network-destinations')).toContainText(new URL(mirror).origin);

	await page.goto('/chat');
	const hubRequests: string[] = [];
	page.on('request', (r) => {
		if (r.url().includes('/models/hub/')) hubRequests.push(r.url());
	});
	await loadHubModel(page);
	expect(hubRequests.some((u) => u.endsWith(`${REPO}/resolve/main/tensor-cache.json`))).toBe(true);

	// Settings now know what works offline
	await page.goto('/settings');
	await expect(page.getByTestId('offline-sw')).toHaveAttribute('data-state', 'controlling');
	await expect(page.getByTestId('offline-ready')).toHaveAttribute('data-ready', 'true');
	await expect(page.getByTestId('cached-model')).toContainText(REPO);
	await expect(page.getByTestId('offline-models')).toContainText('1');

	await context.setOffline(true);
	await page.goto('/chat');
	await page.reload();
	await expect(page.getByTestId('load-model')).toBeVisible();
	// every byte of the model now comes from Cache Storage: no request to the mirror gets an answer
	const answered: string[] = [];
	page.on('requestfinished', (r) => {
		if (r.url().includes('/models/')) answered.push(r.url());
	});
	await loadHubModel(page);
	expect(answered).toEqual([]);
	await page.getByText('Sampling ·').click();
	await page.getByLabel('Max new tokens').fill('4');
	await page.getByTestId('chat-input').fill('Hello offline');
	await page.getByTestId('chat-send').click();
	await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 240_000 });
	await expect(page.getByTestId('chat-stats')).toContainText('4 tokens');
	await context.setOffline(false);
	expect(violations).toEqual([]);
	const csp = await page
		.locator('meta[http-equiv="content-security-policy"]')
		.getAttribute('content');
	expect(csp).toContain("object-src 'none'");
	expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
});

test('the cache manager deletes a cached model and its size goes away', async ({
	page,
	baseURL
}) => {
	await page.goto('/settings');
	await page.getByTestId('mirror-input').fill(`${baseURL}/models/hub`);
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(`${baseURL}/models/hub`);
	await page.goto('/chat');
	await loadHubModel(page);
	await page.goto('/settings');
	const row = page.getByTestId('cached-model').filter({ hasText: REPO });
	await expect(row).toContainText(/\d+ files/);
	await expect(row).toContainText(/\d+ KiB/);
	page.once('dialog', (d) => d.accept());
	await row.getByTestId('delete-cached-model').click();
	await expect(page.getByTestId('model-cache-message')).toContainText(`${REPO}@main`);
	await expect(page.getByTestId('model-cache-empty')).toBeVisible();
	expect(await page.evaluate(() => caches.keys())).not.toContain(`mondo-hub:${REPO}@main`);
});

test('the manifest makes the studio installable', async ({ page, request }) => {
	await page.goto('/');
	const href = await page.locator('link[rel="manifest"]').getAttribute('href');
	expect(href).toBeTruthy();
	const manifest = await (await request.get(new URL(href!, page.url()).href)).json();
	expect(manifest).toMatchObject({
		name: 'Mondō Studio',
		display: 'standalone',
		theme_color: '#1f3a5f'
	});
	expect(manifest.start_url).toBeTruthy();
	const sizes = manifest.icons.map((i: { sizes: string }) => i.sizes);
	expect(sizes).toEqual(expect.arrayContaining(['192x192', '512x512']));
	for (const icon of manifest.icons) {
		const r = await request.get(new URL(icon.src, new URL(href!, page.url())).href);
		expect(r.ok(), icon.src).toBe(true);
	}
});
