import { expect, test, type Page } from '@playwright/test';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles } from '../../src/lib/lora/peft';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

// Requests the tests fake with page.route must reach the page, not a service worker.
test.use({ serviceWorkers: 'block' });

const MODEL_URL = '/models/tiny-mlc/';
// A real PEFT adapter for the tiny model, as Python's PEFT would read it.
const PEFT_FILES = exportPeftFiles(
	TINY_CONFIG,
	createLoraAdapter(
		TINY_CONFIG,
		{ ...LORA_DEFAULTS, r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
		1
	),
	{ baseModel: 'google/gemma-2-2b-jpn-it' }
);

const encodeState = (state: unknown) => Buffer.from(JSON.stringify(state)).toString('base64url');
const decodeLink = (link: string) =>
	JSON.parse(Buffer.from(new URL(link).hash.replace(/^#share=/, ''), 'base64url').toString('utf8'));

/** Put a setting straight into the studio's IndexedDB (as the judge page would store it). */
async function putRawSetting(page: Page, key: string, value: unknown) {
	await page.evaluate(
		([key, value]) =>
			new Promise<void>((ok, fail) => {
				const open = indexedDB.open('mondo-studio');
				open.onerror = () => fail(open.error);
				open.onsuccess = () => {
					if (!open.result.objectStoreNames.contains('settings')) {
						open.result.close();
						return fail(new Error('the studio database has no settings store yet'));
					}
					const tx = open.result.transaction('settings', 'readwrite');
					tx.objectStore('settings').put({ key, value });
					tx.oncomplete = () => (open.result.close(), ok());
					tx.onerror = () => fail(tx.error);
				};
			}),
		[key, value] as const
	);
}

/** A PEFT adapter repo on the mirror: HEAD declares `weightsBytes` (as the hub's X-Linked-Size), GET gives the real files. */
async function fakeAdapter(page: Page, weightsBytes: number) {
	await page.route('**/models/hub/test-org/tiny-lora/resolve/main/**', (route) => {
		const url = route.request().url();
		const head = route.request().method() === 'HEAD';
		if (url.endsWith('adapter_config.json'))
			return route.fulfill({
				status: 200,
				contentType: 'application/json',
				body: Buffer.from(PEFT_FILES['adapter_config.json'])
			});
		if (url.endsWith('adapter_model.safetensors'))
			return route.fulfill({
				status: 200,
				headers: { 'x-linked-size': String(weightsBytes) },
				body: head ? '' : Buffer.from(PEFT_FILES['adapter_model.safetensors'])
			});
		return route.fulfill({ status: 404, body: '' });
	});
}

async function useMirror(page: Page, mirror: string) {
	await page.goto('/settings');
	await page.getByTestId('mirror-input').fill(mirror);
	await page.getByTestId('mirror-save').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(mirror);
}

test('Share builds a link with model, prompt and sampling, a QR code, and never the judge key', async ({
	page
}) => {
	await page.goto('/settings');
	await expect(page.getByTestId('mirror-current')).toBeVisible(); // the database exists now
	// the judge page keeps its key here; 'judge.apiKey' as another place a key could be
	await putRawSetting(page, 'studio.judge.remote', {
		kind: 'remote',
		endpoint: 'https://judge.example/v1',
		model: 'gpt-x',
		apiKey: 'sk-SECRET-judge-key'
	});
	await putRawSetting(page, 'judge.apiKey', 'sk-SECRET-judge-key');
	await page.reload();
	// the judge's origin is listed among the destinations; its key is nowhere on the page
	await expect(page.getByTestId('network-destinations')).toContainText('https://judge.example');
	await expect(page.locator('body')).not.toContainText('SECRET');
	await page.goto('/chat');
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill(MODEL_URL);
	await page.getByText('Sampling ·').click();
	await page.locator('#cp').fill('You are Socrates. あなたはソクラテスです。');
	await page.getByLabel('Temperature').fill('0.3');
	await page.getByLabel('Max new tokens').fill('5');
	await page.getByTestId('share-button').click();

	const link = await page.getByTestId('share-link').inputValue();
	expect(link).toMatch(/\/chat#share=[A-Za-z0-9_-]+$/);
	expect(decodeLink(link)).toEqual({
		v: 1,
		model: { kind: 'url', url: MODEL_URL },
		characterPrompt: 'You are Socrates. あなたはソクラテスです。',
		sampling: { temperature: 0.3, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxNewTokens: 5 }
	});
	expect(JSON.stringify(decodeLink(link))).not.toMatch(/SECRET|judge\.example/);
	await expect(page.getByTestId('share-qr')).toBeVisible();
	expect(await page.getByTestId('share-qr').getAttribute('src')).toMatch(/^data:image\/svg\+xml/);
});

test('opening a link shows what will load, loads nothing before yes, then chats with its settings', async ({
	page
}) => {
	const link = `/chat#share=${encodeState({
		v: 1,
		model: { kind: 'url', url: MODEL_URL },
		characterPrompt: 'Socrates.',
		sampling: { temperature: 0.5, topK: 20, topP: 0.9, repetitionPenalty: 1.05, maxNewTokens: 4 }
	})}`;
	const modelRequests: string[] = [];
	page.on('request', (r) => r.url().includes('/models/') && modelRequests.push(r.url()));
	await page.goto(link);
	await expect(page.getByTestId('share-open')).toBeVisible();
	await expect(page.getByTestId('share-open-model')).toContainText(MODEL_URL);
	await expect(page.getByTestId('share-open-prompt')).toHaveText('Socrates.');
	await page.waitForTimeout(500);
	expect(modelRequests).toEqual([]);
	await expect(page.getByTestId('model-ready')).toHaveCount(0);

	await page.getByTestId('share-open-load').click();
	await expect(page.getByTestId('model-ready')).toBeVisible({ timeout: 180_000 });
	expect(new URL(page.url()).hash).toBe('');
	await page.getByText('Sampling ·').click();
	await expect(page.locator('#cp')).toHaveValue('Socrates.');
	await expect(page.getByLabel('Max new tokens')).toHaveValue('4');
	await expect(page.getByLabel('Top-k')).toHaveValue('20');
	await page.getByTestId('chat-input').fill('What is virtue?');
	await page.getByTestId('chat-send').click();
	await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 180_000 });
	await expect(page.getByTestId('chat-stats')).toContainText('4 tokens');
});

test('a link with an adapter contacts nothing before yes, then checks, downloads, validates and applies it', async ({
	page,
	baseURL
}) => {
	await useMirror(page, `${baseURL}/models/hub`);
	await fakeAdapter(page, 3 * 1024 * 1024);
	await page.goto(
		`/chat#share=${encodeState({ v: 1, model: { kind: 'url', url: MODEL_URL }, adapter: 'hf:test-org/tiny-lora' })}`
	);
	await expect(page.getByTestId('share-open-adapter')).toHaveText('hf:test-org/tiny-lora');
	await expect(page.getByTestId('share-open-adapter-note')).toContainText(
		'Nothing has been contacted'
	);
	await page.getByTestId('share-open-load').click();
	await expect(page.getByTestId('model-ready')).toBeVisible({ timeout: 180_000 });
	await expect(page.getByTestId('chat-adapter')).toContainText('hf:test-org/tiny-lora');
	// inside the (now folded) model card
	await expect(page.getByTestId('adapter-applied')).toBeAttached({ timeout: 30_000 });
	await expect(page.getByTestId('model-ready')).toContainText('LoRA hf:test-org/tiny-lora');

	// the reference travels on when this chat is shared again
	await page.getByTestId('share-button').click();
	expect(decodeLink(await page.getByTestId('share-link').inputValue()).adapter).toBe(
		'hf:test-org/tiny-lora'
	);
});

test('an adapter over the size cap is refused after yes, before its weights download', async ({
	page,
	baseURL
}) => {
	await useMirror(page, `${baseURL}/models/hub`);
	await fakeAdapter(page, 100 * 1024 * 1024);
	const weightGets: string[] = [];
	page.on('request', (r) => {
		if (r.url().endsWith('adapter_model.safetensors') && r.method() === 'GET')
			weightGets.push(r.url());
	});
	await page.goto(
		`/chat#share=${encodeState({ v: 1, model: { kind: 'url', url: MODEL_URL }, adapter: 'hf:test-org/tiny-lora' })}`
	);
	await page.getByTestId('share-open-load').click();
	await expect(page.getByTestId('adapter-error')).toContainText('over the 64.0 MB limit', {
		timeout: 180_000
	});
	expect(weightGets).toEqual([]);
});

test('malformed links are refused with a message naming the field', async ({ page }) => {
	const cases: [string, string][] = [
		['%%%not-base64', 'share:'],
		[Buffer.from('{"v":1,').toString('base64url'), 'share: not valid JSON'],
		[encodeState({ v: 2, model: { kind: 'hub', repo: 'a/b' } }), 'v:'],
		[encodeState({ v: 1, model: { kind: 'hub', repo: 'not a repo' } }), 'model.repo'],
		[encodeState({ v: 1, model: { kind: 'url', url: 'http://evil.example/m/' } }), 'model.url'],
		[
			encodeState({ v: 1, model: { kind: 'hub', repo: 'a/b' }, adapter: 'http://evil.example/x' }),
			'adapter'
		],
		[encodeState({ v: 1, model: { kind: 'hub', repo: 'a/b' }, apiKey: 'sk-x' }), 'apiKey']
	];
	for (const [value, field] of cases) {
		await page.goto(`/chat#share=${value}`);
		await expect(page.getByTestId('share-error')).toContainText(field);
		await expect(page.getByTestId('share-open')).toHaveCount(0);
	}
});
