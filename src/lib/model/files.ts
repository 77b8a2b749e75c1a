/**
 * Where a model folder lives. The loaders (hf.ts, mlc.ts, tokenizer.ts) read a model only through
 * `ModelFiles`, so the same code loads a folder the user picked or dropped (no network), a folder
 * served over HTTP, an in-memory map (tests), or a Hugging Face hub repo with its browser cache
 * (hub.ts). Paths are relative to the model folder, with '/' separators ("tokenizer.json").
 */
import { ModelFormatError } from './config';
import { md5Hex } from './md5';
import { parseJsonText } from './json';
import { RemoteReadError, remoteText, type RemoteFetch } from '../net/remote-read';

/** Progress of reading one file. `total` is null when the source does not know the size. */
export interface FileProgress {
	file: string;
	loaded: number;
	total: number | null;
}

/** What the caller knows a file must be; a source checks it before handing the bytes over. */
export interface ExpectedFile {
	/** Exact size in bytes. */
	size?: number;
	/** MD5 as lowercase hex (the MLC manifest's `md5sum`). */
	md5?: string;
	/** Most bytes allowed (a text file's cap); a download stops as soon as it is passed. */
	maxBytes?: number;
}

export interface ModelFiles {
	/** Where the files come from, for messages ("folder gemma-2-2b-jpn-it", "https://…"). */
	describe: string;
	has(path: string): Promise<boolean>;
	text(path: string): Promise<string>;
	bytes(
		path: string,
		onProgress?: (p: FileProgress) => void,
		expected?: ExpectedFile
	): Promise<ArrayBuffer>;
	/** A URL the file can be fetched from, where there is one. */
	url?(path: string): string;
}

/** A file longer than the bytes allowed for it (ExpectedFile.maxBytes), naming the file and cap. */
export const overFileCap = (file: string, cap: number) =>
	new ModelFormatError(
		file,
		null,
		`larger than the ${cap} bytes (${Math.round(cap / 2 ** 20)} MiB) allowed for this file`
	);

/** Throw a ModelFormatError naming `file` if `bytes` is not what `expected` says. */
export function checkExpectedFile(
	file: string,
	bytes: ArrayBuffer,
	expected: ExpectedFile | undefined
): void {
	if (!expected) return;
	if (expected.maxBytes !== undefined && bytes.byteLength > expected.maxBytes)
		throw overFileCap(file, expected.maxBytes);
	if (expected.size !== undefined && bytes.byteLength !== expected.size)
		throw new ModelFormatError(
			file,
			null,
			bytes.byteLength < expected.size
				? `truncated: ${bytes.byteLength} bytes, expected ${expected.size}`
				: `size mismatch: ${bytes.byteLength} bytes, expected ${expected.size}`
		);
	if (expected.md5 !== undefined) {
		const actual = md5Hex(bytes);
		if (actual !== expected.md5.toLowerCase())
			throw new ModelFormatError(
				file,
				'md5sum',
				`md5 ${actual} does not match the expected ${expected.md5}`
			);
	}
}

function notFound(path: string, where: string): ModelFormatError {
	return new ModelFormatError(path, null, `file not found in ${where}`);
}

/** Parse a JSON file of the model folder; errors name the file. */
export async function readJson(files: ModelFiles, path: string): Promise<Record<string, unknown>> {
	const text = await files.text(path);
	let json: unknown;
	try {
		json = parseJsonText(text);
	} catch (e) {
		throw new ModelFormatError(path, null, (e as Error).message);
	}
	if (!json || typeof json !== 'object' || Array.isArray(json))
		throw new ModelFormatError(path, null, 'expected a JSON object');
	return json as Record<string, unknown>;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
	return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Files held in memory (tests, generated fixtures). Strings are stored as UTF-8. */
export function filesFromMap(
	map: Map<string, ArrayBuffer | Uint8Array | string>,
	describe = 'in-memory model folder'
): ModelFiles {
	const encoder = new TextEncoder();
	return keyedFiles(map, describe, {
		text: async (v) => (typeof v === 'string' ? v : new TextDecoder().decode(v)),
		async bytes(path, v, onProgress) {
			const bytes =
				typeof v === 'string'
					? toArrayBuffer(encoder.encode(v))
					: v instanceof Uint8Array
						? toArrayBuffer(v)
						: v.slice(0);
			onProgress?.({ file: path, loaded: bytes.byteLength, total: bytes.byteLength });
			return bytes;
		}
	});
}

/**
 * ModelFiles over entries keyed by path: a missing path is a ModelFormatError naming `describe`,
 * and every file read is checked against what the manifest expects.
 */
function keyedFiles<T>(
	entries: Map<string, T>,
	describe: string,
	read: {
		text(entry: T): Promise<string>;
		bytes(path: string, entry: T, onProgress?: (p: FileProgress) => void): Promise<ArrayBuffer>;
	}
): ModelFiles {
	const get = (path: string) => {
		const entry = entries.get(path);
		if (entry === undefined) throw notFound(path, describe);
		return entry;
	};
	return {
		describe,
		async has(path) {
			return entries.has(path);
		},
		async text(path) {
			return read.text(get(path));
		},
		async bytes(path, onProgress, expected) {
			const bytes = await read.bytes(path, get(path), onProgress);
			checkExpectedFile(path, bytes, expected);
			return bytes;
		}
	};
}

/** Read a stream into one buffer, reporting progress. */
export async function readStream(
	body: ReadableStream<Uint8Array>,
	file: string,
	total: number | null,
	onProgress?: (p: FileProgress) => void
): Promise<ArrayBuffer> {
	const reader = body.getReader();
	let loaded = 0;
	// With a known size the bytes go straight into one buffer (no second copy of a large shard).
	if (total !== null) {
		const out = new Uint8Array(total);
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			if (loaded + value.byteLength > total)
				throw new ModelFormatError(
					file,
					null,
					`size mismatch: more than the announced ${total} bytes`
				);
			out.set(value, loaded);
			loaded += value.byteLength;
			onProgress?.({ file, loaded, total });
		}
		if (loaded < total)
			throw new ModelFormatError(file, null, `truncated download: ${loaded} of ${total} bytes`);
		return out.buffer;
	}
	const chunks: Uint8Array[] = [];
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		chunks.push(value);
		loaded += value.byteLength;
		onProgress?.({ file, loaded, total });
	}
	const out = new Uint8Array(loaded);
	let at = 0;
	for (const c of chunks) {
		out.set(c, at);
		at += c.byteLength;
	}
	return out.buffer;
}

/** A File as the browser gives it for a picked folder (`webkitRelativePath`) or a dropped file. */
export interface PickedFile {
	name: string;
	size: number;
	webkitRelativePath?: string;
	arrayBuffer(): Promise<ArrayBuffer>;
	text(): Promise<string>;
	stream?(): ReadableStream<Uint8Array>;
}

/**
 * Files with their folder paths given beside them (a dropped folder: the browser leaves
 * `webkitRelativePath` empty and a File cannot carry another path through postMessage).
 */
export function withPaths(files: PickedFile[], paths?: string[]): PickedFile[] {
	if (!paths) return files;
	if (paths.length !== files.length)
		throw new Error(`${files.length} dropped files but ${paths.length} paths`);
	return files.map((f, i) => ({
		name: f.name,
		size: f.size,
		webkitRelativePath: paths[i],
		arrayBuffer: () => f.arrayBuffer(),
		text: () => f.text(),
		...(f.stream ? { stream: () => f.stream!() } : {})
	}));
}

const MODEL_ROOT_MARKERS = [
	'mlc-chat-config.json',
	'config.json',
	'tensor-cache.json',
	'ndarray-cache.json'
];

/**
 * A folder the user picked (`<input webkitdirectory>`) or dropped. The model root is the shallowest
 * folder holding a config or manifest file; paths are taken relative to it. No network.
 */
export function filesFromFileList(list: Iterable<PickedFile> | ArrayLike<PickedFile>): ModelFiles {
	const all = Array.from(list as ArrayLike<PickedFile>);
	const fullPath = (f: PickedFile) =>
		(f.webkitRelativePath ? f.webkitRelativePath : f.name).replace(/\\/g, '/');
	let root = '';
	let bestDepth = Infinity;
	for (const f of all) {
		const parts = fullPath(f).split('/');
		if (MODEL_ROOT_MARKERS.includes(parts[parts.length - 1]) && parts.length < bestDepth) {
			bestDepth = parts.length;
			root = parts.slice(0, -1).join('/');
		}
	}
	const byPath = new Map<string, PickedFile>();
	for (const f of all) {
		const p = fullPath(f);
		if (root === '') byPath.set(p, f);
		else if (p.startsWith(root + '/')) byPath.set(p.slice(root.length + 1), f);
	}
	return keyedFiles(byPath, root ? `folder ${root}` : 'picked files', {
		text: (f) => f.text(),
		async bytes(path, f, onProgress) {
			const bytes = f.stream
				? await readStream(f.stream(), path, f.size, onProgress)
				: await f.arrayBuffer();
			if (!f.stream) onProgress?.({ file: path, loaded: bytes.byteLength, total: f.size });
			return bytes;
		}
	});
}

/** The largest text file of a model folder read over HTTP (Gemma's tokenizer.json is ~34 MB). */
export const MAX_MODEL_TEXT_BYTES = 128 * 1024 * 1024;
const MODEL_TEXT_TIMEOUT_MS = 300_000;

/** A folder served over HTTP (plain fetch, no cache of ours). `baseUrl` is the folder's URL. */
export function filesFromUrl(baseUrl: string, options: { fetch?: typeof fetch } = {}): ModelFiles {
	const doFetch =
		options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
	const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
	const url = (path: string) => base + path.split('/').map(encodeURIComponent).join('/');
	const get = async (path: string) => {
		let response: Response;
		try {
			response = await doFetch(url(path));
		} catch (e) {
			throw new ModelFormatError(
				path,
				null,
				`could not fetch ${url(path)}: ${(e as Error).message}`
			);
		}
		if (response.status === 404) throw notFound(path, base);
		if (!response.ok)
			throw new ModelFormatError(path, null, `HTTP ${response.status} for ${url(path)}`);
		return response;
	};
	return {
		describe: base,
		url,
		async has(path) {
			try {
				const r = await doFetch(url(path), { method: 'HEAD' });
				return r.ok;
			} catch {
				return false;
			}
		},
		async text(path) {
			// configs, manifests and tokenizers: bounded like every remote read (net/remote-read.ts)
			try {
				return await remoteText(url(path), {
					maxBytes: MAX_MODEL_TEXT_BYTES,
					timeoutMs: MODEL_TEXT_TIMEOUT_MS,
					fetch: doFetch as RemoteFetch
				});
			} catch (e) {
				if (!(e instanceof RemoteReadError)) throw e;
				if (e.reason === 'not-found') throw notFound(path, base);
				throw new ModelFormatError(path, null, e.message);
			}
		},
		async bytes(path, onProgress, expected) {
			const response = await get(path);
			const length = response.headers.get('content-length');
			const total =
				length !== null && !response.headers.get('content-encoding') ? Number(length) : null;
			const bytes = response.body
				? await readStream(response.body, path, total, onProgress)
				: await response.arrayBuffer();
			if (total !== null && bytes.byteLength !== total)
				throw new ModelFormatError(
					path,
					null,
					`truncated download: ${bytes.byteLength} of ${total} bytes`
				);
			checkExpectedFile(path, bytes, expected);
			return bytes;
		}
	};
}
