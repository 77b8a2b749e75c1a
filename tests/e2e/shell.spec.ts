import { readdirSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { shellManifest } from '../../scripts/shell-size.mjs';

// A light first visit (issue 15): the service worker precaches the app shell and nothing a page does
// not run; the server sends it compressed. Sizes are facts of the build, not timings.
const MiB = 2 ** 20;

test('the shell a first visit precaches is the manifest, holds no big wasm and is ≤ 2 MB gzipped', async ({
	page
}) => {
	const manifest = shellManifest('build');
	expect(manifest.files.some((f) => f.path.endsWith('.wasm') && f.raw > MiB)).toBe(false);
	expect(manifest.gzip).toBeLessThanOrEqual(2 * MiB);

	await page.goto('/');
	await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
	const cached = await page.evaluate(async () => {
		const name = (await caches.keys()).find((k) => k.startsWith('mondo-shell:'));
		const cache = await caches.open(name!);
		const out: { path: string; bytes: number }[] = [];
		for (const request of await cache.keys()) {
			const response = await cache.match(request);
			out.push({
				path: new URL(request.url).pathname,
				bytes: (await response!.arrayBuffer()).byteLength
			});
		}
		return out;
	});
	// exactly the manifest's files (the SPA page is kept as '/')
	expect(cached.map((c) => c.path).sort()).toEqual(manifest.files.map((f) => f.path).sort());
	expect(cached.filter((c) => c.path.endsWith('.wasm') && c.bytes > MiB)).toEqual([]);
});

test('the studio server compresses text assets and leaves model files and ranges alone', async ({
	request
}) => {
	const worker = readdirSync('build/_app/immutable/workers').find((f) => f.endsWith('.js'));
	for (const [encoding, accept] of [
		['br', 'gzip, deflate, br'],
		['gzip', 'gzip']
	]) {
		const r = await request.get(`/_app/immutable/workers/${worker}`, {
			headers: { 'Accept-Encoding': accept }
		});
		expect(r.status()).toBe(200);
		expect(r.headers()['content-encoding']).toBe(encoding);
		expect(r.headers()['vary']).toMatch(/Accept-Encoding/i);
		expect(Number(r.headers()['content-length'])).toBeLessThan((await r.body()).length);
	}
	const ranged = await request.get('/models/tiny-hf/config.json', {
		headers: { 'Accept-Encoding': 'br', Range: 'bytes=0-9' }
	});
	expect(ranged.status()).toBe(206);
	expect(ranged.headers()['content-encoding']).toBeUndefined();
	expect((await ranged.body()).length).toBe(10);
});
