/**
 * Publishing to the Hub from the built app, against the local Hub stand-in (scripts/hub-standin.mjs,
 * started here on 127.0.0.1 with a random port, set as the mirror): a token checked in Settings
 * (refused when wrong, then kept masked), an adapter published from the Adapters page (PEFT files
 * byte-identical to the studio's PEFT export, a model card with front matter), and "Share" on a
 * chat with that local adapter — declined (the link says it opens the base model), then published
 * first — whose link loads the adapter back through the mirror.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { startHubStandin } from '../../scripts/hub-standin.mjs';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftZip } from '../../src/lib/lora/peft';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

test.use({ serviceWorkers: 'block' });

const TOKEN = 'hf_standin_e2e_token_0123456789';
const ZIP = Buffer.from(
	exportPeftZip(
		TINY_CONFIG,
		createLoraAdapter(
			TINY_CONFIG,
			{ ...LORA_DEFAULTS, r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
			5
		),
		{ baseModel: 'google/gemma-2-2b-jpn-it' }
	)
);

let hub: Awaited<ReturnType<typeof startHubStandin>>;
test.beforeAll(async () => {
	hub = await startHubStandin({ token: TOKEN, user: 'tester' });
});
test.afterAll(() => hub.close());

const decodeLink = (link: string) =>
	JSON.parse(Buffer.from(new URL(link).hash.replace(/^#share=/, ''), 'base64url').toString('utf8'));

async function signIn(page: Page) {
	await page.goto('/settings');
	await page.getByTestId('mirror-input').fill(hub.url);
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(hub.url);
	await page.reload(); // the account card reads the mirror as the hub to publish to
	await page.getByTestId('hub-token-input').fill('hf_wrong_token');
	await page.getByTestId('hub-token-save').click();
	await expect(page.getByTestId('hub-account-error')).toContainText('401');
	await page.getByTestId('hub-token-input').fill(TOKEN);
	await page.getByTestId('hub-token-save').click();
	await expect(page.getByTestId('hub-signed-in')).toContainText('tester');
	await expect(page.getByTestId('hub-token-masked')).toContainText('6789');
	await page.reload();
	await expect(page.getByTestId('hub-signed-in')).toContainText('tester'); // kept
	expect(await page.locator('body').innerText()).not.toContain(TOKEN);
}

async function importAdapter(page: Page) {
	await page.goto('/adapters');
	if (!(await page.getByTestId('source-url').isVisible()))
		await page.getByTestId('model-picker').locator('summary').click();
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });
	await page
		.getByTestId('adapter-import')
		.setInputFiles({ name: 'socratic-lora.zip', mimeType: 'application/zip', buffer: ZIP });
	await expect(page.getByTestId('adapter-row')).toHaveCount(1);
}

/** Attach a finished run (its metrics) to the imported adapter, in the studio's own IndexedDB. */
async function linkToRun(page: Page) {
	await page.evaluate(
		() =>
			new Promise<void>((ok, fail) => {
				const open = indexedDB.open('mondo-studio');
				open.onerror = () => fail(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const tx = db.transaction(['runs', 'adapters'], 'readwrite');
					const now = Date.now();
					tx.objectStore('runs').put({
						id: 'run-e2e',
						name: 'e2e run',
						base: { model: 'google/gemma-2-2b-jpn-it' },
						trainingArgs: { learning_rate: 0.0002, num_train_epochs: 1 },
						loraConfig: { r: 2, lora_alpha: 4 },
						status: 'completed',
						metrics: [1, 2, 3, 4].map((step) => ({
							step,
							epoch: step / 4,
							loss: 3 / step,
							time: now
						})),
						createdAt: now,
						updatedAt: now
					});
					const adapters = tx.objectStore('adapters');
					const all = adapters.getAll();
					all.onsuccess = () => adapters.put({ ...all.result[0], runId: 'run-e2e' });
					tx.oncomplete = () => (db.close(), ok());
					tx.onerror = () => fail(tx.error);
				};
			})
	);
}

/** The two files the Adapters page's "export files" writes (the studio's PEFT export). */
async function exportedFiles(page: Page): Promise<Map<string, Buffer>> {
	const files = new Map<string, Buffer>();
	const downloads: Promise<void>[] = [];
	const collect = (d: import('@playwright/test').Download) =>
		downloads.push(d.path().then((p) => void files.set(d.suggestedFilename(), readFileSync(p))));
	page.on('download', collect);
	await page.getByTestId('adapter-row').getByRole('button', { name: 'Export files' }).click();
	await expect.poll(() => downloads.length).toBe(2);
	await Promise.all(downloads);
	page.off('download', collect);
	return files;
}

test('an adapter publishes from the Adapters page: PEFT files byte for byte and a model card', async ({
	page
}) => {
	test.setTimeout(480_000);
	await signIn(page);
	await importAdapter(page);
	const exported = await exportedFiles(page);

	await linkToRun(page);
	await page.getByTestId('adapter-row').getByTestId('publish-button').click();
	const dialog = page.getByTestId('publish-dialog');
	await expect(dialog.getByTestId('publish-repo')).toHaveValue('tester/socratic-lora');
	await dialog.getByTestId('publish-repo').fill('tester/socrates-tiny');
	await dialog.getByTestId('publish-start').click();
	await expect(dialog.getByTestId('publish-done')).toContainText('tester/socrates-tiny', {
		timeout: 120_000
	});
	const files = hub.files('tester/socrates-tiny')!;
	expect(files.get('adapter_config.json')!.equals(exported.get('adapter_config.json')!)).toBe(true);
	expect(
		files.get('adapter_model.safetensors')!.equals(exported.get('adapter_model.safetensors')!)
	).toBe(true);
	const card = files.get('README.md')!.toString('utf8');
	expect(card).toMatch(/^---\n/);
	expect(card).toContain('base_model: "google/gemma-2-2b-jpn-it"');
	expect(card).toContain('library_name: "peft"');
	expect(card).toContain('  - "mondo-studio"');
	expect(card).toContain('pipeline_tag: "text-generation"');
	// the run's loss curve, drawn as PNG in the browser, and its training arguments
	expect(card).toContain('![Training loss per step](loss.png)');
	expect(card).toContain('| learning_rate | 0.0002 |');
	expect([...files.get('loss.png')!.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);

	// publishing the same name again: taken (409) unless "update it if it exists"
	await dialog.getByTestId('publish-start').click();
	await expect(dialog.getByTestId('publish-error')).toContainText('409');
	await dialog.getByTestId('publish-existing').check();
	await dialog.getByTestId('publish-start').click();
	await expect(dialog.getByTestId('publish-done')).toBeVisible();
	expect(hub.repos.get('model:tester/socrates-tiny')!.commits).toHaveLength(2);
	await dialog.getByTestId('publish-close').click();

	// a dataset (a built-in set) publishes to a dataset repo with its card
	await page.goto('/studio/datasets');
	const row = page.getByTestId('dataset-row').first();
	await row.getByTestId('publish-button').click();
	await page.getByTestId('publish-repo').fill('tester/socrates-set');
	await page.getByTestId('publish-start').click();
	await expect(page.getByTestId('publish-done')).toContainText('tester/socrates-set');
	const set = hub.files('tester/socrates-set', { type: 'dataset' })!;
	expect(set.get('data/train.jsonl')!.toString('utf8').split('\n')[0]).toMatch(/^\{"messages":\[/);
	expect(set.get('README.md')!.toString('utf8')).toContain('path: "data/train.jsonl"');
});

test('Share on a chat with a local adapter: declining says so; publishing first gives a link that loads it back', async ({
	page,
	context
}) => {
	test.setTimeout(600_000);
	await signIn(page);
	await importAdapter(page);
	await page.getByRole('button', { name: 'Open in chat' }).click();
	await expect(page).toHaveURL(/\/chat$/);
	await expect(page.getByTestId('model-ready')).toContainText('LoRA socratic-lora');

	// declined: the link has no adapter and the dialog says plainly it opens the base model
	await page.getByTestId('share-button').click();
	await expect(page.getByTestId('share-local-adapter')).toContainText('socratic-lora');
	await page.getByTestId('share-without-adapter').click();
	await expect(page.getByTestId('share-base-only')).toContainText('base model');
	expect(decodeLink(await page.getByTestId('share-link').inputValue()).adapter).toBeUndefined();

	// published first: the link pins the commit
	await page.getByTestId('share-button').click();
	await page.getByTestId('share-publish-first').click();
	await page.getByTestId('publish-repo').fill('tester/shared-socrates');
	await page.getByTestId('publish-start').click();
	const link = await page.getByTestId('share-link').inputValue({ timeout: 120_000 });
	const commit = hub.repos.get('model:tester/shared-socrates')!.commits[0].oid;
	const state = decodeLink(link);
	expect(state.adapter).toBe(`hf:tester/shared-socrates@${commit}`);
	expect(link).not.toContain(TOKEN);
	await expect(page.getByTestId('share-base-only')).toHaveCount(0);

	// the next share offers the published copy
	await page.getByTestId('share-button').click();
	await expect(page.getByTestId('share-use-published')).toContainText(commit.slice(0, 12));
	await page.getByTestId('share-use-published').click();
	expect(decodeLink(await page.getByTestId('share-link').inputValue()).adapter).toBe(state.adapter);

	// the recipient (same browser profile, so the mirror is the stand-in) loads the adapter back
	const recipient = await context.newPage();
	await recipient.goto(link);
	await expect(recipient.getByTestId('share-open-adapter')).toHaveText(state.adapter);
	await recipient.getByTestId('share-open-load').click();
	await expect(recipient.getByTestId('model-ready')).toBeVisible({ timeout: 180_000 });
	await expect(recipient.getByTestId('adapter-applied')).toBeAttached({ timeout: 30_000 });
	// the same browser profile already keeps these exact files (as socratic-lora): the store reuses
	// that entry rather than keeping a second copy, so the chat names it
	await expect(recipient.getByTestId('model-ready')).toContainText('LoRA socratic-lora');
	expect(
		hub.requests.some(
			(r) =>
				r.method === 'GET' &&
				r.path === `/tester/shared-socrates/resolve/${commit}/adapter_model.safetensors`
		)
	).toBe(true);
});

test('Sign in with Hugging Face (OAuth with PKCE) where a client id is set keeps the token like a pasted one', async ({
	page
}) => {
	await page.goto('/settings');
	await page.getByTestId('mirror-input').fill(hub.url);
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(hub.url);
	await page.reload();
	await page.getByTestId('hub-account').locator('summary').click();
	await page.getByTestId('hub-oauth-client').fill('standin-client');
	await page.getByTestId('hub-oauth-login').click();
	// the stand-in approves at once and sends the browser back to /settings?code=…&state=…
	await expect(page.getByTestId('hub-signed-in')).toContainText('tester');
	await expect(page.getByTestId('hub-token-masked')).toContainText('Hugging Face sign-in');
	expect(new URL(page.url()).search).toBe(''); // the code is not left in the address bar
	expect(await page.locator('body').innerText()).not.toContain(TOKEN);
	await page.getByTestId('hub-token-remove').click();
	await expect(page.getByTestId('hub-token-input')).toBeVisible();
});
