/**
 * Model files from the Hugging Face hub (or a mirror with the same
 * `{base}/{repo}/resolve/{revision}/{file}` layout), downloaded once and kept in the browser's
 * Cache Storage — one cache per repo@revision — so the studio works offline afterwards.
 *
 * - Progress: bytes done/total, speed and ETA, per file and over the whole session.
 * - Resume: while a file downloads, its bytes are saved as pieces (`…?piece=<start>`) in the same
 *   cache; an interrupted download continues with an HTTP Range request from the last byte kept.
 * - Verification: the size the server announced (Content-Length / Content-Range) and, when the
 *   caller knows them (the MLC manifest), the expected size and md5. Only a verified file is stored
 *   as complete; a file that fails is dropped with its pieces.
 */
import { ModelFormatError } from './config';
import {
	checkExpectedFile,
	MAX_MODEL_TEXT_BYTES,
	overFileCap,
	type ExpectedFile,
	type FileProgress,
	type ModelFiles
} from './files';
import { concatBytes as concat } from '../net/bytes';

export const HF_HUB_URL = 'https://huggingface.co';
/** Every cache this module owns starts with this; the rest of the name is `{repo}@{revision}`. */
export const HUB_CACHE_PREFIX = 'mondo-hub:';
/** Bytes kept in memory before they are saved as a resumable piece. */
export const DEFAULT_PIECE_BYTES = 8 * 1024 * 1024;
/** Keys of cached files; never fetched, only used to name entries in Cache Storage. */
const CACHE_KEY_ORIGIN = 'https://hub-cache.invalid';

export interface HubProgress {
	file: string;
	fileLoaded: number;
	/** null until the server says how big the file is. */
	fileTotal: number | null;
	/** Over every file this HubFiles has read (or `expectedTotalBytes`, when given). */
	loaded: number;
	total: number | null;
	/** Network speed over the last few seconds (cached bytes do not count). */
	bytesPerSecond: number;
	fileEtaSeconds: number | null;
	etaSeconds: number | null;
	/** True when the file came from the cache without any download. */
	fromCache: boolean;
	/** Bytes of this file that an earlier, interrupted download had already saved. */
	resumedFrom: number;
}

export interface HubOptions {
	/** Default https://huggingface.co; a classroom mirror or test server with the same layout. */
	baseUrl?: string;
	onProgress?: (p: HubProgress) => void;
	/** Injected fetch (tests simulate interruptions with it). */
	fetch?: (input: string, init?: RequestInit) => Promise<Response>;
	/** Default 8 MiB. */
	pieceBytes?: number;
	/** Check md5 when the caller gives one (default true). */
	verifyMd5?: boolean;
	/** Size of everything that will be read, for the session's total and ETA. */
	expectedTotalBytes?: number;
	/** Most bytes of a text file (`*.json`: configs, manifests, tokenizer); default 128 MiB. */
	maxTextBytes?: number;
}

/** A model folder's text files (configs, manifests, tokenizer) are its JSON files. */
const isTextFile = (path: string) => path.endsWith('.json');

export interface HubFiles extends ModelFiles {
	repo: string;
	revision: string;
	cacheName: string;
	url(path: string): string;
	/** True when the file is in the cache, complete and verified. */
	isCached(path: string): Promise<boolean>;
	/**
	 * Download (or find in the cache) every file listed, e.g. `modelFileList(hub)`, so the model
	 * works offline; files without a size go first, then the session total is known.
	 */
	prefetch(entries: ({ path: string } & ExpectedFile)[]): Promise<void>;
}

export function hubFileUrl(
	repo: string,
	revision: string,
	file: string,
	baseUrl = HF_HUB_URL
): string {
	const base = baseUrl.replace(/\/+$/, '');
	const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');
	return `${base}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
}

export function hubCacheName(repo: string, revision: string): string {
	return `${HUB_CACHE_PREFIX}${repo}@${revision}`;
}

function cacheKey(repo: string, revision: string, file: string): string {
	return hubFileUrl(repo, revision, file, CACHE_KEY_ORIGIN);
}

function pieceKey(fileKey: string, start: number): string {
	return `${fileKey}?piece=${start}`;
}

/** Network speed over a sliding window of recent samples. */
class SpeedMeter {
	private samples: { t: number; bytes: number }[] = [];
	private networkBytes = 0;
	constructor(private windowMs = 5000) {}
	add(bytes: number) {
		this.networkBytes += bytes;
		const t = performance.now();
		this.samples.push({ t, bytes: this.networkBytes });
		while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
	}
	bytesPerSecond(): number {
		if (this.samples.length < 2) return 0;
		const a = this.samples[0];
		const b = this.samples[this.samples.length - 1];
		return b.t > a.t ? ((b.bytes - a.bytes) * 1000) / (b.t - a.t) : 0;
	}
}

interface PieceEntry {
	start: number;
	length: number;
	total: number | null;
	key: string;
}

export function hubFiles(repo: string, revision = 'main', options: HubOptions = {}): HubFiles {
	const baseUrl = options.baseUrl ?? HF_HUB_URL;
	const doFetch = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
	const pieceBytes = options.pieceBytes ?? DEFAULT_PIECE_BYTES;
	const maxTextBytes = options.maxTextBytes ?? MAX_MODEL_TEXT_BYTES;
	const cacheName = hubCacheName(repo, revision);
	const url = (path: string) => hubFileUrl(repo, revision, path, baseUrl);
	const describe = `${repo}@${revision} (${baseUrl})`;
	const openCache = () => caches.open(cacheName);
	/** A failed first attempt leaves no empty cache behind (it would list as a "0 B" cached model). */
	const dropIfEmpty = async () => {
		if ((await (await openCache()).keys()).length === 0) await caches.delete(cacheName);
	};

	// Session progress over all files.
	const fileState = new Map<string, { loaded: number; total: number | null }>();
	let expectedTotal = options.expectedTotalBytes ?? null;
	const speed = new SpeedMeter();
	const report = (file: string, fromCache: boolean, resumedFrom: number) => {
		if (!options.onProgress) return;
		const f = fileState.get(file)!;
		let loaded = 0;
		let total: number | null = 0;
		for (const s of fileState.values()) {
			loaded += s.loaded;
			total = total === null || s.total === null ? null : total + s.total;
		}
		if (expectedTotal !== null) total = expectedTotal;
		const bps = speed.bytesPerSecond();
		const eta = (remaining: number | null) =>
			remaining === null ? null : remaining <= 0 ? 0 : bps > 0 ? remaining / bps : null;
		options.onProgress({
			file,
			fileLoaded: f.loaded,
			fileTotal: f.total,
			loaded,
			total,
			bytesPerSecond: bps,
			fileEtaSeconds: eta(f.total === null ? null : f.total - f.loaded),
			etaSeconds: eta(total === null ? null : total - loaded),
			fromCache,
			resumedFrom
		});
	};

	async function cachedFile(path: string): Promise<ArrayBuffer | null> {
		const cache = await openCache();
		const response = await cache.match(cacheKey(repo, revision, path));
		return response ? response.arrayBuffer() : null;
	}

	/** The saved pieces of an interrupted download, contiguous from byte 0 (others are dropped). */
	async function savedPieces(cache: Cache, fileKey: string): Promise<PieceEntry[]> {
		const requests = await cache.keys(fileKey, { ignoreSearch: true });
		const pieces: PieceEntry[] = [];
		for (const request of requests) {
			const start = new URL(request.url).searchParams.get('piece');
			if (start === null) continue;
			const response = await cache.match(request);
			if (!response) continue;
			const total = response.headers.get('x-total');
			pieces.push({
				start: Number(start),
				length: Number(response.headers.get('x-length')),
				total: total ? Number(total) : null,
				key: request.url
			});
		}
		pieces.sort((a, b) => a.start - b.start);
		const kept: PieceEntry[] = [];
		let next = 0;
		for (const p of pieces) {
			if (p.start === next && p.total === pieces[0].total) {
				kept.push(p);
				next += p.length;
			} else await cache.delete(p.key);
		}
		return kept;
	}

	async function dropPieces(cache: Cache, pieces: PieceEntry[]) {
		for (const p of pieces) await cache.delete(p.key);
	}

	async function download(
		path: string,
		onFileProgress: ((p: FileProgress) => void) | undefined,
		expected: ExpectedFile | undefined
	): Promise<ArrayBuffer> {
		const cache = await openCache();
		const fileKey = cacheKey(repo, revision, path);
		let pieces = await savedPieces(cache, fileKey);
		let resumeFrom = pieces.reduce((a, p) => a + p.length, 0);
		const target = url(path);

		const request = async (from: number): Promise<Response> => {
			try {
				return await doFetch(
					target,
					from > 0 ? { headers: { Range: `bytes=${from}-` } } : undefined
				);
			} catch (e) {
				throw new ModelFormatError(
					path,
					null,
					`could not download ${target}: ${(e as Error).message}`
				);
			}
		};
		let response = await request(resumeFrom);
		let total: number | null = null;
		if (resumeFrom > 0 && response.status === 206) {
			// Content-Range may be hidden by CORS (a CDN that does not expose it); then the 206 to
			// our single open range starts at resumeFrom and Content-Length is what is left.
			const contentRange = response.headers.get('content-range');
			const length = response.headers.get('content-length');
			const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '');
			const rangeStart = contentRange === null ? resumeFrom : m ? Number(m[1]) : -1;
			const rangeTotal =
				contentRange === null
					? length === null
						? null
						: resumeFrom + Number(length)
					: m && m[3] !== '*'
						? Number(m[3])
						: null;
			if (
				rangeStart !== resumeFrom ||
				(pieces[0].total !== null && rangeTotal !== null && rangeTotal !== pieces[0].total)
			) {
				// The server answered another range or the file changed: start over.
				await response.body?.cancel();
				await dropPieces(cache, pieces);
				pieces = [];
				resumeFrom = 0;
				response = await request(0);
			} else total = rangeTotal ?? pieces[0].total;
		} else if (resumeFrom > 0 && response.status === 416 && pieces[0].total === resumeFrom) {
			// Everything was saved already; only the final assembly was missing.
			total = resumeFrom;
		} else if (resumeFrom > 0) {
			// 200 (Range ignored) or anything else: the saved pieces are of no use.
			await dropPieces(cache, pieces);
			pieces = [];
			resumeFrom = 0;
			if (response.status !== 200) {
				await response.body?.cancel();
				response = await request(0);
			}
		}
		if (response.status === 404)
			throw new ModelFormatError(path, null, `file not found in ${describe}`);
		if (!response.ok && !(response.status === 416 && total === resumeFrom))
			throw new ModelFormatError(path, null, `HTTP ${response.status} for ${target}`);
		if (response.status === 200) {
			const length = response.headers.get('content-length');
			total = length !== null && !response.headers.get('content-encoding') ? Number(length) : null;
		}
		const cap = expected?.maxBytes;
		const overCap = () => overFileCap(path, cap!);
		if (cap !== undefined && total !== null && total > cap) {
			await response.body?.cancel().catch(() => {});
			await dropPieces(cache, pieces);
			throw overCap();
		}

		const state = { loaded: resumeFrom, total };
		fileState.set(path, state);
		const progress = () => {
			onFileProgress?.({ file: path, loaded: state.loaded, total: state.total });
			report(path, false, pieces.length ? resumeFrom : 0);
		};
		progress();

		// The file's bytes collect in one buffer of the announced size (no second copy of a large
		// shard), or in a list of chunks when the size is unknown.
		const buffer = total !== null ? new Uint8Array(total) : null;
		const chunks: Uint8Array[] = [];
		let received = 0;
		let overflow = false;
		const append = (b: Uint8Array) => {
			if (cap !== undefined && received + b.byteLength > cap) {
				overflow = true;
				throw overCap();
			}
			if (buffer) {
				if (received + b.byteLength > buffer.byteLength) {
					overflow = true;
					throw new ModelFormatError(
						path,
						null,
						`size mismatch: received more than the ${total} bytes the server announced`
					);
				}
				buffer.set(b, received);
			} else chunks.push(b);
			received += b.byteLength;
		};
		// Earlier pieces, read back from the cache.
		for (const p of pieces) {
			const r = await cache.match(p.key);
			if (!r)
				throw new ModelFormatError(
					path,
					null,
					'a saved piece vanished from the cache during the download'
				);
			append(new Uint8Array(await r.arrayBuffer()));
		}
		// New bytes are saved as a piece whenever pieceBytes have come in.
		let savedUpTo = received;
		let savedChunks = chunks.length;
		const savePiece = async () => {
			if (received === savedUpTo) return;
			const piece = buffer
				? buffer.subarray(savedUpTo, received)
				: concat(chunks.slice(savedChunks), received - savedUpTo);
			await cache.put(
				pieceKey(fileKey, savedUpTo),
				new Response(piece, {
					headers: {
						'content-type': 'application/octet-stream',
						'x-length': String(received - savedUpTo),
						'x-total': total === null ? '' : String(total)
					}
				})
			);
			savedUpTo = received;
			savedChunks = chunks.length;
		};
		const dropAllPieces = async () => {
			for (const r of await cache.keys(fileKey, { ignoreSearch: true }))
				if (new URL(r.url).searchParams.has('piece')) await cache.delete(r);
		};

		if (response.status !== 416 && response.body) {
			const reader = response.body.getReader();
			try {
				for (;;) {
					const { done, value } = await reader.read();
					if (done) break;
					append(value);
					state.loaded = received;
					speed.add(value.byteLength);
					if (received - savedUpTo >= pieceBytes) await savePiece();
					progress();
				}
			} catch (e) {
				if (overflow) {
					await reader.cancel().catch(() => {});
					await dropAllPieces();
					fileState.delete(path);
					throw e;
				}
				await savePiece().catch(() => {});
				throw new ModelFormatError(
					path,
					null,
					`download interrupted after ${received} of ${total ?? '?'} bytes (kept for resuming): ${(e as Error).message}`
				);
			}
		}
		if (total !== null && received < total) {
			await savePiece().catch(() => {});
			throw new ModelFormatError(
				path,
				null,
				`download ended early: ${received} of ${total} bytes (kept for resuming)`
			);
		}
		const bytes = (buffer ?? concat(chunks, received)).buffer as ArrayBuffer;
		try {
			checkExpectedFile(
				path,
				bytes,
				options.verifyMd5 === false ? { size: expected?.size } : expected
			);
		} catch (e) {
			await dropAllPieces();
			fileState.delete(path);
			throw e;
		}
		await cache.put(
			fileKey,
			new Response(bytes, {
				headers: { 'content-type': 'application/octet-stream', 'x-size': String(bytes.byteLength) }
			})
		);
		await dropAllPieces();
		return bytes;
	}

	async function isCached(path: string): Promise<boolean> {
		const cache = await openCache();
		return (await cache.match(cacheKey(repo, revision, path))) !== undefined;
	}

	const inFlight = new Map<string, Promise<ArrayBuffer>>();
	async function bytes(
		path: string,
		onFileProgress?: (p: FileProgress) => void,
		given?: ExpectedFile
	): Promise<ArrayBuffer> {
		// a text file is capped (a host cannot make the page read an endless config.json)
		const expected =
			isTextFile(path) && given?.maxBytes === undefined
				? { ...given, maxBytes: maxTextBytes }
				: given;
		const cached = await cachedFile(path);
		if (cached) {
			// Verified when it was stored; the size is cheap to check again.
			checkExpectedFile(path, cached, { size: expected?.size, maxBytes: expected?.maxBytes });
			fileState.set(path, { loaded: cached.byteLength, total: cached.byteLength });
			onFileProgress?.({ file: path, loaded: cached.byteLength, total: cached.byteLength });
			report(path, true, 0);
			return cached;
		}
		let running = inFlight.get(path);
		if (!running) {
			running = download(path, onFileProgress, expected)
				.catch(async (e) => {
					await dropIfEmpty();
					throw e;
				})
				.finally(() => inFlight.delete(path));
			inFlight.set(path, running);
		}
		return running;
	}

	return {
		describe,
		repo,
		revision,
		cacheName,
		url,
		isCached,
		async has(path) {
			if (await isCached(path)) return true;
			let response: Response;
			try {
				response = await doFetch(url(path), { method: 'HEAD' });
			} catch (e) {
				// Offline with a model that was downloaded before: what is not cached is not there.
				const cache = await openCache();
				const complete = (await cache.keys()).some(
					(r) => !new URL(r.url).searchParams.has('piece')
				);
				if (complete) return false;
				await dropIfEmpty();
				throw new ModelFormatError(
					path,
					null,
					`could not reach ${describe} (${(e as Error).message}) and nothing of it is cached`
				);
			}
			if (response.ok) return true;
			if (response.status === 404) return false;
			throw new ModelFormatError(path, null, `HTTP ${response.status} for ${url(path)}`);
		},
		async text(path) {
			return new TextDecoder().decode(await bytes(path, undefined, { maxBytes: maxTextBytes }));
		},
		bytes,
		async prefetch(entries) {
			// Files of unknown size (configs, tokenizer) first: then the total is known for the rest.
			const unsized = entries.filter((e) => e.size === undefined);
			const sized = entries.filter((e) => e.size !== undefined);
			let total = 0;
			for (const e of unsized) total += (await bytes(e.path, undefined, e)).byteLength;
			expectedTotal = total + sized.reduce((a, e) => a + (e.size ?? 0), 0);
			for (const e of sized) await bytes(e.path, undefined, e);
		}
	};
}

// ---------------------------------------------------------------- the cache manager

export interface CachedModel {
	repo: string;
	revision: string;
	cacheName: string;
	/** Complete, verified files. */
	files: { path: string; bytes: number }[];
	bytes: number;
	/** Bytes kept from interrupted downloads. */
	partialBytes: number;
}

/** Every hub model with something in Cache Storage, with its size. */
export async function listCachedModels(): Promise<CachedModel[]> {
	const models: CachedModel[] = [];
	for (const name of await caches.keys()) {
		if (!name.startsWith(HUB_CACHE_PREFIX)) continue;
		const at = name.lastIndexOf('@');
		const repo = name.slice(HUB_CACHE_PREFIX.length, at);
		const revision = name.slice(at + 1);
		const cache = await caches.open(name);
		const model: CachedModel = {
			repo,
			revision,
			cacheName: name,
			files: [],
			bytes: 0,
			partialBytes: 0
		};
		const prefix = hubFileUrl(repo, revision, '', CACHE_KEY_ORIGIN);
		for (const request of await cache.keys()) {
			const response = await cache.match(request);
			if (!response) continue;
			const u = new URL(request.url);
			if (u.searchParams.has('piece')) {
				model.partialBytes += Number(response.headers.get('x-length') ?? 0);
				continue;
			}
			const size = Number(response.headers.get('x-size') ?? 0);
			const path = decodeURIComponent(
				request.url.startsWith(prefix) ? request.url.slice(prefix.length) : u.pathname
			);
			model.files.push({ path, bytes: size });
			model.bytes += size;
		}
		model.files.sort((a, b) => a.path.localeCompare(b.path));
		models.push(model);
	}
	return models.sort((a, b) => a.cacheName.localeCompare(b.cacheName));
}

/** Delete a cached model (complete files and partial downloads). True if there was one. */
export function deleteCachedModel(repo: string, revision: string): Promise<boolean> {
	return caches.delete(hubCacheName(repo, revision));
}
