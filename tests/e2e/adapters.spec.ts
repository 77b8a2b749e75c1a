/**
 * Adapters in the built app: a PEFT zip (written here exactly as the studio exports it, B ≠ 0 so it
 * changes the model) is imported, listed, compared side by side with the base model, and opened in
 * chat; a damaged adapter is refused with a message that names what is wrong.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { ggufLoraFile, readPeftFilesForGguf } from '../../src/lib/export/gguf-lora';
import {
	loadTinyModel,
	STRONG_ADAPTER as adapter,
	STRONG_ADAPTER_ZIP as ZIP
} from './studio-fixtures';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles, exportPeftZip } from '../../src/lib/lora/peft';
import { writeZip } from '../../src/lib/lora/zip';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

/** The Adapters page with the tiny model loaded and the zip imported as "socratic-lora". */
async function adaptersPageWithZip(page: Page) {
	await page.goto('/adapters');
	await loadTinyModel(page);
	await page
		.getByTestId('adapter-import')
		.setInputFiles({ name: 'socratic-lora.zip', mimeType: 'application/zip', buffer: ZIP });
	await expect(page.getByTestId('adapter-row')).toHaveCount(1);
}

// Requests faked with page.route must reach the page, not a service worker.
test.use({ serviceWorkers: 'block' });

test('a PEFT zip imports, compares against the base model and opens in chat', async ({ page }) => {
	test.setTimeout(480_000);
	await adaptersPageWithZip(page);
	await expect(page.getByTestId('adapter-list')).toContainText('socratic-lora');
	await expect(page.getByTestId('adapter-list')).toContainText('4 / 64');
	// the same zip again is found, not added twice
	await page
		.getByTestId('adapter-import')
		.setInputFiles({ name: 'socratic-lora copy.zip', mimeType: 'application/zip', buffer: ZIP });
	await expect(page.getByTestId('adapter-import-note')).toContainText(
		'Already in your list as “socratic-lora”'
	);
	await expect(page.getByTestId('adapter-row')).toHaveCount(1);

	// base vs adapter on the same prompt, greedy: the adapter changes the reply
	await page.getByTestId('compare-b').selectOption({ label: 'socratic-lora' });
	await page.getByTestId('compare-max').fill('4');
	await page.locator('#compare-prompts').fill('abc');
	await page.getByTestId('compare-run').click();
	const cells = page.getByTestId('compare-table').locator('td');
	await expect(cells.nth(1)).not.toHaveText('…', { timeout: 240_000 });
	const [base, lora] = [await cells.nth(0).textContent(), await cells.nth(1).textContent()];
	expect(base).not.toBe(lora);
	// the base model's reply is four newlines: shown as such, never as a blank cell
	await expect(cells.nth(0)).toHaveText('(only whitespace: "\\n\\n\\n\\n")');
	// the columns say which side is which
	await expect(page.getByTestId('compare-table').locator('thead')).toContainText(
		'B · socratic-lora'
	);

	await page.getByRole('button', { name: 'Open in chat' }).click();
	await expect(page).toHaveURL(/\/chat$/);
	await expect(page.getByTestId('model-ready')).toContainText('LoRA socratic-lora');
});

test('a damaged adapter is refused with a message naming the problem', async ({ page }) => {
	await page.goto('/adapters');
	await loadTinyModel(page);
	// an adapter for other shapes: hidden 64 → 96 breaks every lora_A
	const wrong = createLoraAdapter(
		{ ...TINY_CONFIG, hiddenSize: 96 },
		{ ...LORA_DEFAULTS, r: 2, target_modules: ['q_proj'] },
		1
	);
	const files = exportPeftFiles({ ...TINY_CONFIG, hiddenSize: 96 }, wrong, { baseModel: 'x' });
	const zip = writeZip(Object.entries(files).map(([name, data]) => ({ name, data })));
	await page
		.getByTestId('adapter-import')
		.setInputFiles({ name: 'wrong.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
	await expect(page.getByTestId('adapter-import-error')).toContainText('lora_A');
	await expect(page.getByTestId('adapter-row')).toHaveCount(0);
	// DoRA is refused, not silently ignored
	const dora = JSON.parse(
		new TextDecoder().decode(
			exportPeftFiles(TINY_CONFIG, adapter, { baseModel: 'x' })['adapter_config.json']
		)
	);
	dora.use_dora = true;
	const doraZip = writeZip([
		{ name: 'adapter_config.json', data: new TextEncoder().encode(JSON.stringify(dora)) },
		{
			name: 'adapter_model.safetensors',
			data: exportPeftFiles(TINY_CONFIG, adapter, { baseModel: 'x' })['adapter_model.safetensors']
		}
	]);
	await page
		.getByTestId('adapter-import')
		.setInputFiles({ name: 'dora.zip', mimeType: 'application/zip', buffer: Buffer.from(doraZip) });
	await expect(page.getByTestId('adapter-import-error')).toContainText(/DoRA|use_dora/);
});

test('an adapter imports from a hub reference on the mirror', async ({ page, baseURL }) => {
	const files = exportPeftFiles(TINY_CONFIG, adapter, { baseModel: 'test-org/tiny-gemma2' });
	await page.route('**/models/hub/test-org/socratic-lora/resolve/main/**', (route) => {
		const name = route.request().url().split('/').pop() as keyof typeof files;
		return files[name]
			? route.fulfill({ status: 200, body: Buffer.from(files[name]) })
			: route.fulfill({ status: 404, body: '' });
	});
	await page.goto('/settings');
	await page.getByTestId('mirror-input').fill(`${baseURL}/models/hub`);
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(`${baseURL}/models/hub`); // saved
	await page.goto('/adapters');
	await loadTinyModel(page);
	await page.getByTestId('adapter-url').fill('hf:test-org/socratic-lora');
	await page.getByTestId('adapter-url-import').click();
	await expect(page.getByTestId('adapter-list')).toContainText('hf:test-org/socratic-lora');
	// a plain-http URL elsewhere is refused before any request
	await page.getByTestId('adapter-url').fill('http://example.com/lora');
	await page.getByTestId('adapter-url-import').click();
	await expect(page.getByTestId('adapter-import-error')).toContainText('adapter');
});

test('the Adapters page exports a GGUF bundle and a PEFT zip with a README', async ({ page }) => {
	test.setTimeout(400_000);
	const adapter = createLoraAdapter(
		TINY_CONFIG,
		{ ...LORA_DEFAULTS, r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
		5
	);
	for (const m of adapter.modules.values()) m.B.forEach((_, i) => (m.B[i] = Math.sin(i) / 3));
	const zip = exportPeftZip(TINY_CONFIG, adapter, { baseModel: 'test-org/tiny-gemma2' });
	await page.goto('/adapters');
	await loadTinyModel(page);
	await page.getByTestId('adapter-import').setInputFiles({
		name: 'socratic-lora.zip',
		mimeType: 'application/zip',
		buffer: Buffer.from(zip)
	});
	await expect(page.getByTestId('adapter-row')).toHaveCount(1);

	await page.getByTestId('gguf-dtype').selectOption('f32');
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		page.getByTestId('export-gguf').click()
	]);
	expect(download.suggestedFilename()).toBe('socratic-lora-gguf.zip');
	const bundle = unzipSync(new Uint8Array(readFileSync(await download.path())));
	expect(Object.keys(bundle).sort()).toEqual(['Modelfile', 'README.md', 'adapter.gguf']);
	const expected = ggufLoraFile(readPeftFilesForGguf(new Map(Object.entries(unzipSync(zip)))), {
		dtype: 'f32',
		folderName: 'socratic-lora'
	});
	expect(Buffer.from(bundle['adapter.gguf']).equals(Buffer.from(expected))).toBe(true);
	expect(new TextDecoder().decode(bundle['Modelfile'])).toContain('ADAPTER ./adapter.gguf');
	expect(new TextDecoder().decode(bundle['README.md'])).toContain('ollama create');

	const [peft] = await Promise.all([
		page.waitForEvent('download'),
		page.getByRole('button', { name: 'Export zip' }).click()
	]);
	const peftFiles = unzipSync(new Uint8Array(readFileSync(await peft.path())));
	expect(Object.keys(peftFiles).sort()).toEqual([
		'README.md',
		'adapter_config.json',
		'adapter_model.safetensors'
	]);
	expect(new TextDecoder().decode(peftFiles['README.md'])).toContain('PeftModel.from_pretrained');
});

test('adapters rename in place and delete with confirmation; origins in Japanese', async ({
	page
}) => {
	test.setTimeout(360_000);
	await adaptersPageWithZip(page);
	await page.getByTestId('adapter-rename').click();
	await page.getByTestId('adapter-name-input').fill('ソクラテス風');
	await page.getByTestId('adapter-name-input').press('Enter');
	await expect(page.getByTestId('adapter-name')).toHaveText('ソクラテス風');

	await page.evaluate(() => localStorage.setItem('mondo.locale', 'ja'));
	await page.reload();
	await expect(page.getByTestId('adapter-origin')).toHaveText('読み込み');
	// Japanese action buttons keep their words on one line (no one-character columns)
	for (const button of await page.getByTestId('adapter-row').getByRole('button').all()) {
		const box = (await button.boundingBox())!;
		expect(box.width).toBeGreaterThan(box.height);
	}

	page.once('dialog', (d) => d.dismiss());
	await page.getByTestId('adapter-delete').click();
	await expect(page.getByTestId('adapter-row')).toHaveCount(1);
	page.once('dialog', (d) => d.accept());
	await page.getByTestId('adapter-delete').click();
	await expect(page.getByTestId('adapter-row')).toHaveCount(0);
});
