/**
 * Issue 12 · a share link contacts nothing before the user agrees: its adapter host (a real local
 * server here, on another origin) sees no request while the dialog is open, and the HEAD/GET
 * requests only after "Load it".
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { expect, test } from '@playwright/test';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles } from '../../src/lib/lora/peft';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

test.use({ serviceWorkers: 'block' });

const PEFT_FILES: Record<string, Uint8Array> = exportPeftFiles(
	TINY_CONFIG,
	createLoraAdapter(TINY_CONFIG, { ...LORA_DEFAULTS, r: 2, lora_alpha: 4 }, 3),
	{ baseModel: 'google/gemma-2-2b-jpn-it' }
);

let server: Server;
let adapterUrl = '';
const seen: string[] = [];

test.beforeAll(async () => {
	server = createServer((req: IncomingMessage, res) => {
		seen.push(`${req.method} ${req.url}`);
		const cors = {
			'Access-Control-Allow-Origin': '*',
			'Access-Control-Expose-Headers': 'Content-Length'
		};
		const name = (req.url ?? '').split('/').pop() ?? '';
		const body = PEFT_FILES[name];
		if (!body) return res.writeHead(404, cors).end();
		res.writeHead(200, { ...cors, 'Content-Length': body.length });
		res.end(req.method === 'HEAD' ? undefined : Buffer.from(body));
	});
	await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
	const a = server.address();
	adapterUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/lora`;
});

test.afterAll(async () => {
	await new Promise<void>((ok) => server.close(() => ok()));
});

const encodeState = (state: unknown) => Buffer.from(JSON.stringify(state)).toString('base64url');

test('the adapter host records zero requests before consent, and the adapter loads after it', async ({
	page
}) => {
	seen.length = 0;
	await page.goto(
		`/chat#share=${encodeState({ v: 1, model: { kind: 'url', url: '/models/tiny-mlc/' }, adapter: adapterUrl })}`
	);
	await expect(page.getByTestId('share-open')).toBeVisible();
	await expect(page.getByTestId('share-open-adapter')).toHaveText(adapterUrl);
	await expect(page.getByTestId('share-open-adapter-note')).toBeVisible();
	await page.waitForTimeout(1500);
	expect(seen).toEqual([]);

	await page.getByTestId('share-open-load').click();
	await expect(page.getByTestId('model-ready')).toBeVisible({ timeout: 180_000 });
	await expect(page.getByTestId('adapter-applied')).toBeAttached({ timeout: 30_000 });
	expect(seen).toContain('HEAD /lora/adapter_model.safetensors');
	expect(seen).toContain('GET /lora/adapter_model.safetensors');
});

test('cancelling a link never contacts its adapter host', async ({ page }) => {
	seen.length = 0;
	await page.goto(
		`/chat#share=${encodeState({ v: 1, model: { kind: 'url', url: '/models/tiny-mlc/' }, adapter: adapterUrl })}`
	);
	await page.getByTestId('share-open-cancel').click();
	await expect(page.getByTestId('share-open')).toHaveCount(0);
	await page.waitForTimeout(1000);
	expect(seen).toEqual([]);
});
