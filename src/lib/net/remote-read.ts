/**
 * The one way the studio reads something small from a host a link or a user named (a shared
 * adapter, a hub adapter import, an https PEFT folder): streamed with a byte cap — the read stops
 * as soon as the cap is passed, whatever the server declared — and a deadline
 * (AbortSignal.timeout), so a host that streams forever or never answers cannot hang the page.
 * Errors name the URL and the cap or the time.
 */
import { concatBytes } from './bytes';

export type RemoteFetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface RemoteReadOptions {
	/** Most bytes accepted from this URL. */
	maxBytes: number;
	/** Whole request, body included (default 60 s). */
	timeoutMs?: number;
	/** What is read, for messages ("a shared adapter"). */
	what?: string;
	fetch?: RemoteFetch;
	onProgress?: (loaded: number, total: number | null) => void;
}

export class RemoteReadError extends Error {
	constructor(
		readonly url: string,
		readonly reason: 'network' | 'http' | 'not-found' | 'cap' | 'timeout',
		message: string
	) {
		super(message);
		this.name = 'RemoteReadError';
	}
}

export const DEFAULT_REMOTE_TIMEOUT_MS = 60_000;

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function deadline(url: string, timeoutMs: number) {
	const signal = AbortSignal.timeout(timeoutMs);
	const timedOut = () =>
		new RemoteReadError(url, 'timeout', `${url}: no complete answer within ${seconds(timeoutMs)}`);
	// rejects when the deadline passes, for fetch implementations that ignore the signal
	const expired = new Promise<never>((_, reject) =>
		signal.addEventListener('abort', () => reject(timedOut()), { once: true })
	);
	expired.catch(() => {});
	return { signal, expired, timedOut };
}

async function open(
	url: string,
	method: 'GET' | 'HEAD',
	options: RemoteReadOptions
): Promise<{ response: Response; expired: Promise<never>; timedOut: () => RemoteReadError }> {
	const doFetch: RemoteFetch =
		options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
	const { signal, expired, timedOut } = deadline(
		url,
		options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS
	);
	let response: Response;
	try {
		response = await Promise.race([doFetch(url, { method, signal }), expired]);
	} catch (e) {
		if (e instanceof RemoteReadError) throw e;
		if (signal.aborted) throw timedOut();
		throw new RemoteReadError(url, 'network', `could not reach ${url}: ${(e as Error).message}`);
	}
	if (response.status === 404)
		throw new RemoteReadError(url, 'not-found', `${url}: not found (404)`);
	if (!response.ok) throw new RemoteReadError(url, 'http', `${url}: HTTP ${response.status}`);
	return { response, expired, timedOut };
}

/** HEAD, under the same deadline rules (no body is read). */
export async function remoteHead(url: string, options: RemoteReadOptions): Promise<Response> {
	return (await open(url, 'HEAD', options)).response;
}

/** GET the body, refusing it once it passes `maxBytes` and when the deadline passes. */
export async function remoteBytes(url: string, options: RemoteReadOptions): Promise<Uint8Array> {
	const { response, expired, timedOut } = await open(url, 'GET', options);
	const cap = options.maxBytes;
	const over = () =>
		new RemoteReadError(
			url,
			'cap',
			`${url} sent more than the ${cap} bytes allowed${options.what ? ` for ${options.what}` : ''}`
		);
	const declared = Number(response.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > cap) {
		await response.body?.cancel().catch(() => {});
		throw over();
	}
	const total = Number.isFinite(declared) && declared > 0 ? declared : null;
	const reader = response.body?.getReader();
	if (!reader) return new Uint8Array(0);
	const parts: Uint8Array[] = [];
	let loaded = 0;
	try {
		for (;;) {
			const { done, value } = await Promise.race([reader.read(), expired]);
			if (done) break;
			loaded += value.byteLength;
			if (loaded > cap) throw over();
			parts.push(value);
			options.onProgress?.(loaded, total);
		}
	} catch (e) {
		reader.cancel().catch(() => {});
		if (e instanceof RemoteReadError) throw e;
		if ((e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError')
			throw timedOut();
		throw new RemoteReadError(
			url,
			'network',
			`${url}: the download broke off (${(e as Error).message})`
		);
	}
	return concatBytes(parts, loaded);
}

/** GET a small text file (UTF-8, a BOM dropped) under the same rules. */
export async function remoteText(url: string, options: RemoteReadOptions): Promise<string> {
	return new TextDecoder().decode(await remoteBytes(url, options));
}
