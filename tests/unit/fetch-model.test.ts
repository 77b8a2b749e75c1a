/**
 * scripts/fetch-model.mjs against a loopback server that imitates the hub: the tree API, files
 * under /resolve/, Range requests, and a connection cut in the middle of a file.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchModel } from '../../scripts/fetch-model.mjs';

const shard = new Uint8Array(300_000).map((_, i) => (i * 31 + 7) & 0xff);
const config = JSON.stringify({ model_type: 'gemma2', hidden_size: 64 });
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const manifest = JSON.stringify({
	records: [{ dataPath: 'params_shard_0.bin', md5sum: md5(shard) }]
});
const files: Record<string, Uint8Array> = {
	'mlc-chat-config.json': new TextEncoder().encode(config),
	'tensor-cache.json': new TextEncoder().encode(manifest),
	'params_shard_0.bin': shard
};

let server: Server;
let base = '';
/** Requests seen: path and Range header. */
const seen: { path: string; range: string | undefined }[] = [];
/** When set, the next GET of the shard sends this many bytes and then cuts the connection. */
let cutShardAfter: number | null = null;
/** When true, the tree lists a wrong sha256 for the shard. */
let lieAboutSha = false;

beforeAll(async () => {
	server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://x');
		seen.push({ path: url.pathname, range: req.headers.range });
		if (url.pathname === '/api/models/test-org/tiny/tree/main') {
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end(
				JSON.stringify([
					{ type: 'directory', path: 'sub' },
					{ type: 'file', path: '.gitattributes', size: 10 },
					...Object.entries(files).map(([path, b]) => ({
						type: 'file',
						path,
						size: b.length,
						...(path.endsWith('.bin')
							? { lfs: { oid: lieAboutSha ? sha256('other') : sha256(b), size: b.length } }
							: {})
					}))
				])
			);
			return;
		}
		const m = /^\/test-org\/tiny\/resolve\/main\/(.+)$/.exec(url.pathname);
		const body = m ? files[decodeURIComponent(m[1])] : undefined;
		if (!body) {
			res.writeHead(404).end();
			return;
		}
		const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
		const start = range ? Number(range[1]) : 0;
		const slice = body.subarray(start);
		res.writeHead(range ? 206 : 200, {
			'Content-Length': slice.length,
			...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {})
		});
		if (m![1].endsWith('.bin') && cutShardAfter !== null) {
			const n = cutShardAfter;
			cutShardAfter = null;
			res.write(slice.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
			return;
		}
		res.end(slice);
	});
	await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
	const address = server.address();
	base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('fetch-model', () => {
	it('downloads a repo into DIR/owner/name, resumes an interrupted file with Range, verifies it', async () => {
		const to = mkdtempSync(join(tmpdir(), 'fetch-model-'));
		try {
			cutShardAfter = 120_000;
			await expect(
				fetchModel({ repo: 'test-org/tiny', to, base, token: undefined })
			).rejects.toThrow(/params_shard_0\.bin: download interrupted.*kept/);
			const part = join(to, 'test-org', 'tiny', 'params_shard_0.bin.part');
			expect(statSync(part).size).toBe(120_000);

			seen.length = 0;
			const result = await fetchModel({ repo: 'test-org/tiny', to, base, token: undefined });
			expect(result.resumed).toEqual(['params_shard_0.bin']);
			// only the rest of the shard came over the wire, asked for with Range
			expect(seen.find((s) => s.path.endsWith('params_shard_0.bin'))?.range).toBe('bytes=120000-');
			expect(result.downloadedBytes).toBe(shard.length - 120_000);
			const folder = join(to, 'test-org', 'tiny');
			expect(new Uint8Array(readFileSync(join(folder, 'params_shard_0.bin')))).toEqual(shard);
			expect(readFileSync(join(folder, 'mlc-chat-config.json'), 'utf8')).toBe(config);
			expect(existsSync(part)).toBe(false);
			expect(existsSync(join(folder, '.gitattributes'))).toBe(false);

			// a third run finds everything verified and downloads nothing
			seen.length = 0;
			const again = await fetchModel({ repo: 'test-org/tiny', to, base, token: undefined });
			expect(again.downloadedBytes).toBe(0);
			expect(seen.filter((s) => s.path.includes('/resolve/'))).toEqual([]);
		} finally {
			rmSync(to, { recursive: true, force: true });
		}
	});

	it('refuses a file whose sha256 differs from the hub listing and removes it', async () => {
		const to = mkdtempSync(join(tmpdir(), 'fetch-model-'));
		try {
			lieAboutSha = true;
			await expect(
				fetchModel({ repo: 'test-org/tiny', to, base, token: undefined })
			).rejects.toThrow(/params_shard_0\.bin: sha256 does not match/);
			expect(existsSync(join(to, 'test-org', 'tiny', 'params_shard_0.bin'))).toBe(false);
			expect(existsSync(join(to, 'test-org', 'tiny', 'params_shard_0.bin.part'))).toBe(false);
		} finally {
			lieAboutSha = false;
			rmSync(to, { recursive: true, force: true });
		}
	});

	it('refuses a bad repo id before any request', async () => {
		seen.length = 0;
		await expect(fetchModel({ repo: '../etc', to: tmpdir(), base })).rejects.toThrow(
			/not a hub repo id/
		);
		expect(seen).toEqual([]);
	});
});
