import { expect, test } from '@playwright/test';

test('the app loads and every section is reachable from the navigation', async ({ page }) => {
	await page.goto('/');
	await expect(page.getByRole('heading', { level: 1 })).toContainText('Mondō Studio');
	const sections: [string, string, RegExp][] = [
		['chat', '/chat', /Chat/],
		['studio', '/studio', /Data studio/],
		['characters', '/studio/characters', /Characters/],
		['generate', '/studio/generate', /Generate/],
		['judge', '/studio/judge', /Judge/],
		['review', '/studio/review', /Review/],
		['datasets', '/studio/datasets', /Datasets/],
		['train', '/train', /Train/],
		['adapters', '/adapters', /Adapters/],
		['settings', '/settings', /Settings/]
	];
	for (const [id, path, heading] of sections) {
		await page.getByTestId(`nav-${id}`).click();
		await expect(page).toHaveURL(new RegExp(`${path}$`));
		await expect(page.getByRole('heading', { level: 1 })).toHaveText(heading);
	}
});

test('the settings page shows the WebGPU adapter, its kernel paths and its limits', async ({
	page
}) => {
	await page.goto('/settings');
	await expect(page.getByTestId('gpu-report')).toBeVisible();
	await expect(page.getByTestId('gpu-adapter')).not.toHaveText('—');
	await expect(page.getByTestId('gpu-report')).toContainText('maxStorageBufferBindingSize');
	// the kernel paths chosen at load: SwiftShader has subgroups but no shader-f16
	await expect(page.getByTestId('gpu-paths')).toHaveText(/^f32 · (no )?subgroups$/);
	await expect(page.getByTestId('storage-usage')).toBeVisible();
});

test('a character written on one page survives a reload (IndexedDB)', async ({ page }) => {
	await page.goto('/studio/characters');
	const name = `Socrates ${Date.now()}`;
	await page.getByTestId('character-new').click();
	await page.getByTestId('character-name').fill(name);
	await page.getByTestId('character-profile').fill('A philosopher of Athens.');
	await page.getByTestId('character-prompt').fill('You are Socrates.');
	await page.getByTestId('character-save').click();
	await expect(page.getByTestId('character-list')).toContainText(name);
	await page.reload();
	await expect(page.getByTestId('character-list')).toContainText(name);
});

test('the language switch changes the interface and is remembered', async ({ page }) => {
	await page.goto('/settings');
	await page.getByTestId('language-select').selectOption('ja');
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('設定');
	await page.reload();
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('設定');
	await expect(page.locator('html')).toHaveAttribute('lang', 'ja');
	await page.getByTestId('language-select').selectOption('en');
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('Settings');
});

test('a browser without WebGPU gets a clear page, not a blank screen', async ({ page }) => {
	await page.addInitScript(() => {
		Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
	});
	await page.goto('/chat');
	await expect(page.getByTestId('webgpu-missing')).toBeVisible();
	await expect(page.getByTestId('webgpu-missing')).toContainText('navigator.gpu');
	await expect(page.getByTestId('webgpu-missing')).toContainText('Chrome');
	// data pages still work, with a banner
	await page.getByTestId('nav-characters').click();
	await expect(page.getByTestId('webgpu-banner')).toBeVisible();
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('Characters');
});
