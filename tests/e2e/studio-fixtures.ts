/**
 * What the Train and Adapters e2e tests share: a chat JSONL, the tiny model, an adapter that
 * changes it, IndexedDB counts.
 */
import { expect, type Page } from '@playwright/test';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftZip } from '../../src/lib/lora/peft';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

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
	// The picker unfolds itself once it has read the saved source and asked the worker for a model;
	// a click on its summary in that moment would fold it again, so open it until it stays open.
	const source = page.getByTestId('source-url');
	await expect(async () => {
		if (!(await source.isVisible()))
			await page.getByTestId('model-picker').locator('summary').click();
		await expect(source).toBeVisible({ timeout: 2_000 });
	}).toPass({ timeout: 30_000 });
	await source.check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });
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

/**
 * An adapter for the tiny model, strong on purpose: the tiny model's final softcap (3) saturates
 * its logits, so a mild adapter would not move the argmax. The float64 reference gives 4 × token
 * 365 ("\n") for the base model on "abc" and 4 × token 57 with this adapter.
 */
export const STRONG_ADAPTER = createLoraAdapter(
	TINY_CONFIG,
	{
		...LORA_DEFAULTS,
		r: 4,
		lora_alpha: 64,
		target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
	},
	3
);
for (const m of STRONG_ADAPTER.modules.values())
	m.B.forEach((_, i) => (m.B[i] = Math.sin(7 * i + 1) * 4));

/** STRONG_ADAPTER as a PEFT zip, exactly as the studio exports it. */
export const STRONG_ADAPTER_ZIP = Buffer.from(
	exportPeftZip(TINY_CONFIG, STRONG_ADAPTER, { baseModel: 'test-org/tiny-gemma2' })
);
