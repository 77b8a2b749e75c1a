/**
 * Hub downloads in real Chromium (Cache Storage, fetch streams, Range requests) against the tiny
 * MLC fixture served by Vite in the hub's resolve layout:
 *   /fixtures/hub/test-org/tiny-gemma2-mlc/resolve/main/…   (npx tsx scripts/make-tiny-model.ts)
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { filesFromUrl } from '../../src/lib/model/files';
import {
	deleteCachedModel,
	hubCacheName,
	hubFiles,
	listCachedModels,
	type HubProgress
} from '../../src/lib/model/hub';
import { loadModel, modelFileList } from '../../src/lib/model/load';
import { loadTokenizer } from '../../src/lib/model/tokenizer';

const REPO = 'test-org/tiny-gemma2-mlc';
const BASE = `${location.origin}/fixtures/hub`;
const SHARD = 'params_shard_0.bin';
const direct = filesFromUrl(`${BASE}/${REPO}/resolve/main`);

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** A fetch whose responses for `file` stop with a network error after `limit` body bytes. */
function fetchCutAfter(file: string, limit: number): FetchLike {
	return async (input, init) => {
		const response = await fetch(input, init);
		if (!input.endsWith('/' + file) || !response.body) return response;
		const reader = response.body.getReader();
		let sent = 0;
		const body = new ReadableStream<Uint8Array>({
			async pull(controller) {
				if (sent >= limit) return controller.error(new TypeError('network connection lost'));
				const { done, value } = await reader.read();
				if (done) return controller.close();
				const part = value.subarray(0, limit - sent);
				sent += part.byteLength;
				controller.enqueue(part);
			}
		});
		return new Response(body, { status: response.status, headers: response.headers });
	};
}

/** A fetch that records the Range header of every request. */
function fetchRecordingRanges(ranges: (string | null)[]): FetchLike {
	return async (input, init) => {
		ranges.push(new Headers(init?.headers).get('range'));
		return fetch(input, init);
	};
}

const sameBytes = (a: ArrayBuffer, b: ArrayBuffer) =>
	a.byteLength === b.byteLength && new Uint8Array(a).every((v, i) => v === new Uint8Array(b)[i]);

beforeEach(async () => {
	await deleteCachedModel(REPO, 'main');
});

describe('hubFiles', () => {
	it('serves the fixture in the resolve layout (run make-tiny-model first)', async () => {
		const r = await fetch(`${BASE}/${REPO}/resolve/main/mlc-chat-config.json`);
		expect(r.status, 'fixtures/hub missing: npx tsx scripts/make-tiny-model.ts').toBe(200);
	});

	it('downloads a model once, reports progress, and loads it offline from the cache afterwards', async () => {
		const events: HubProgress[] = [];
		const online = hubFiles(REPO, 'main', { baseUrl: BASE, onProgress: (p) => events.push(p) });
		const first = await loadModel(online);
		expect(first.layout).toBe('mlc');
		expect(first.quantization).toBe('q4f16_1');
		const reference = await loadModel(direct);
		expect(first.weights.embed).toEqual(reference.weights.embed);

		const shardEvents = events.filter((e) => e.file === SHARD);
		const last = shardEvents[shardEvents.length - 1];
		expect(last.fileLoaded).toBe(last.fileTotal);
		expect(last.fromCache).toBe(false);
		expect(events.every((e) => e.total === null || e.loaded <= e.total)).toBe(true);

		const cached = (await listCachedModels()).find((m) => m.repo === REPO)!;
		expect(cached.cacheName).toBe(hubCacheName(REPO, 'main'));
		expect(cached.files.map((f) => f.path)).toContain(SHARD);
		const shardSize = (await direct.bytes(SHARD)).byteLength;
		expect(cached.files.find((f) => f.path === SHARD)!.bytes).toBe(shardSize);
		expect(cached.bytes).toBe(cached.files.reduce((a, f) => a + f.bytes, 0));
		expect(cached.partialBytes).toBe(0);

		const offlineEvents: HubProgress[] = [];
		const offline = hubFiles(REPO, 'main', {
			baseUrl: BASE,
			fetch: () => Promise.reject(new TypeError('offline')),
			onProgress: (p) => offlineEvents.push(p)
		});
		const second = await loadModel(offline);
		expect(second.weights.layers[1].proj.up_proj).toEqual(first.weights.layers[1].proj.up_proj);
		expect(offlineEvents.every((e) => e.fromCache)).toBe(true);
		expect(await offline.has('model.safetensors.index.json')).toBe(false);
		const neverDownloaded = hubFiles('test-org/other', 'main', {
			baseUrl: BASE,
			fetch: () => Promise.reject(new TypeError('offline'))
		});
		await expect(neverDownloaded.has('config.json')).rejects.toThrow(
			/config\.json: could not reach test-org\/other@main .*offline.* nothing of it is cached/
		);

		expect(await deleteCachedModel(REPO, 'main')).toBe(true);
		expect((await listCachedModels()).some((m) => m.repo === REPO)).toBe(false);
	});

	it('prefetches every file of the model with a known total, then works offline (weights and tokenizer)', async () => {
		const events: HubProgress[] = [];
		const hub = hubFiles(REPO, 'main', { baseUrl: BASE, onProgress: (p) => events.push(p) });
		const list = await modelFileList(hub);
		expect(list.map((e) => e.path)).toContain('tokenizer.json');
		expect(list.filter((e) => e.md5).length).toBeGreaterThan(1);
		await hub.prefetch(list);
		const last = events[events.length - 1];
		expect(last.total).not.toBeNull();
		expect(last.loaded).toBe(last.total);
		expect(last.etaSeconds).toBe(0);
		const offline = hubFiles(REPO, 'main', {
			baseUrl: BASE,
			fetch: () => Promise.reject(new TypeError('offline'))
		});
		expect((await loadModel(offline)).config.vocabSize).toBe(512);
		const tokenizer = await loadTokenizer(offline);
		expect(tokenizer.decode(tokenizer.encode('日本語 ok'))).toBe('日本語 ok');
	});

	it('resumes an interrupted download with a Range request from the bytes it kept', async () => {
		const full = await direct.bytes(SHARD);
		expect(full.byteLength).toBeGreaterThan(3000);
		const broken = hubFiles(REPO, 'main', {
			baseUrl: BASE,
			fetch: fetchCutAfter(SHARD, 2500),
			pieceBytes: 1024
		});
		await expect(broken.bytes(SHARD)).rejects.toThrow(
			/params_shard_0\.bin: download interrupted after 2500 of \d+ bytes/
		);
		const partial = (await listCachedModels()).find((m) => m.repo === REPO)!;
		expect(partial.partialBytes).toBe(2500);
		expect(partial.files).toEqual([]);

		const ranges: (string | null)[] = [];
		const events: HubProgress[] = [];
		const resumed = hubFiles(REPO, 'main', {
			baseUrl: BASE,
			fetch: fetchRecordingRanges(ranges),
			pieceBytes: 1024,
			onProgress: (p) => events.push(p)
		});
		const bytes = await resumed.bytes(SHARD);
		expect(ranges).toEqual(['bytes=2500-']);
		expect(events[0].resumedFrom).toBe(2500);
		expect(sameBytes(bytes, full)).toBe(true);
		const after = (await listCachedModels()).find((m) => m.repo === REPO)!;
		expect(after.partialBytes).toBe(0);
		expect(after.files).toEqual([{ path: SHARD, bytes: full.byteLength }]);
	});

	it('resumes too when CORS hides Content-Range (the 206 length is what is left)', async () => {
		const full = await direct.bytes(SHARD);
		const broken = hubFiles(REPO, 'main', {
			baseUrl: BASE,
			fetch: fetchCutAfter(SHARD, 1500),
			pieceBytes: 1024
		});
		await expect(broken.bytes(SHARD)).rejects.toThrow(/interrupted after 1500/);
		const hidingRange: FetchLike = async (input, init) => {
			const r = await fetch(input, init);
			const headers = new Headers(r.headers);
			headers.delete('content-range');
			return new Response(r.body, { status: r.status, headers });
		};
		const events: HubProgress[] = [];
		const resumed = hubFiles(REPO, 'main', {
			baseUrl: BASE,
			fetch: hidingRange,
			onProgress: (p) => events.push(p)
		});
		expect(sameBytes(await resumed.bytes(SHARD), full)).toBe(true);
		expect(events[0].resumedFrom).toBe(1500);
		expect(events[0].fileTotal).toBe(full.byteLength);
	});

	it('rejects a size mismatch and keeps nothing of the bad file', async () => {
		const full = await direct.bytes(SHARD);
		const hub = hubFiles(REPO, 'main', { baseUrl: BASE, pieceBytes: 1024 });
		await expect(hub.bytes(SHARD, undefined, { size: full.byteLength + 8 })).rejects.toThrow(
			`params_shard_0.bin: truncated: ${full.byteLength} bytes, expected ${full.byteLength + 8}`
		);
		expect(await hub.isCached(SHARD)).toBe(false);
		expect((await listCachedModels()).find((m) => m.repo === REPO)!.partialBytes).toBe(0);

		// A server announcing fewer bytes than it sends.
		const lying: FetchLike = async (input, init) => {
			const r = await fetch(input, init);
			const headers = new Headers(r.headers);
			headers.set('content-length', String(full.byteLength - 16));
			return new Response(r.body, { status: r.status, headers });
		};
		const hub2 = hubFiles(REPO, 'main', { baseUrl: BASE, fetch: lying });
		await expect(hub2.bytes(SHARD)).rejects.toThrow(
			/params_shard_0\.bin: size mismatch: received more than the \d+ bytes the server announced/
		);
		expect(await hub2.isCached(SHARD)).toBe(false);
		expect((await listCachedModels()).find((m) => m.repo === REPO)!.partialBytes).toBe(0);
	});

	it('checks the md5 the manifest gives before caching', async () => {
		const hub = hubFiles(REPO, 'main', { baseUrl: BASE });
		await expect(hub.bytes(SHARD, undefined, { md5: '0'.repeat(32) })).rejects.toThrow(
			/params_shard_0\.bin \(md5sum\): md5 [0-9a-f]{32} does not match/
		);
		expect(await hub.isCached(SHARD)).toBe(false);
	});

	it('says which file is missing on the hub', async () => {
		const hub = hubFiles(REPO, 'main', { baseUrl: BASE });
		expect(await hub.has('no-such-file.json')).toBe(false);
		await expect(hub.text('no-such-file.json')).rejects.toThrow(
			/no-such-file\.json: file not found in test-org\/tiny-gemma2-mlc@main/
		);
	});

	it('caps the text files (config, manifest, tokenizer): an endless or oversized one is refused, naming the file and limit', async () => {
		// a host that streams a config.json forever, with no Content-Length
		let sent = 0;
		const endless: FetchLike = async (input, init) => {
			if (!input.endsWith('/mlc-chat-config.json')) return fetch(input, init);
			const body = new ReadableStream<Uint8Array>({
				pull(controller) {
					sent += 1024;
					controller.enqueue(new Uint8Array(1024).fill(32));
				}
			});
			return new Response(body, { status: 200 });
		};
		const cap = 64 * 1024;
		const hub = hubFiles(REPO, 'main', { baseUrl: BASE, fetch: endless, maxTextBytes: cap });
		await expect(loadModel(hub)).rejects.toThrow(
			`mlc-chat-config.json: larger than the ${cap} bytes (0 MiB) allowed for this file`
		);
		expect(sent).toBeLessThan(cap + 16 * 1024); // the read stopped at the cap
		// nothing kept, not even an empty cache (isCached would open one)
		expect((await listCachedModels()).some((m) => m.repo === REPO)).toBe(false);

		// the real tokenizer.json (34 KB) over a 16 KiB cap: refused on its declared size, and the
		// prefetch that lists it stops there
		const small = hubFiles(REPO, 'main', { baseUrl: BASE, maxTextBytes: 16 * 1024 });
		await expect(loadTokenizer(small)).rejects.toThrow(
			'tokenizer.json: larger than the 16384 bytes (0 MiB) allowed for this file'
		);
		await expect(small.prefetch(await modelFileList(small))).rejects.toThrow(/tokenizer\.json/);
		expect(await small.isCached('tokenizer.json')).toBe(false);

		// the default cap (128 MiB) lets the real files through
		const tokenizer = await loadTokenizer(hubFiles(REPO, 'main', { baseUrl: BASE }));
		expect(tokenizer.encode('hello').length).toBeGreaterThan(0);
	});
});
