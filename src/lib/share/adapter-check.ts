/**
 * What a shared adapter reference points at, found out — once the user agreed to load it — before
 * anything large is downloaded: the PEFT files' declared sizes (HEAD → Content-Length, or the hub's
 * X-Linked-Size for LFS files) and the base model named in adapter_config.json. An adapter over the
 * size cap is refused up front; every read goes through net/remote-read.ts (cap + deadline).
 */
import { HF_HUB_URL, hubFileUrl } from '../model/hub';
import { RemoteReadError, remoteBytes, remoteHead, remoteText } from '../net/remote-read';
import { ShareLinkError, type AdapterRef } from './sources';

import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../lora/tensor-names';
/** A LoRA adapter of Gemma-2 2B is a few MB; anything this big is not what a link should pull in. */
export const MAX_ADAPTER_BYTES = 64 * 1024 * 1024;
/** adapter_config.json is a few hundred bytes. */
const MAX_CONFIG_BYTES = 256 * 1024;
/** The size check (two HEADs and the small config) and the download each get this long. */
export const CHECK_TIMEOUT_MS = 20_000;
export const DOWNLOAD_TIMEOUT_MS = 180_000;

export interface AdapterCheckOptions {
	/** Hub or mirror base for `hf:` references (default https://huggingface.co). */
	hubBaseUrl?: string;
	maxBytes?: number;
	timeoutMs?: number;
	fetch?: (input: string, init?: RequestInit) => Promise<Response>;
}

export interface AdapterInspection {
	files: { name: string; url: string; bytes: number | null }[];
	/** Sum of the declared sizes; null when a server did not say. */
	totalBytes: number | null;
	/** `base_model_name_or_path` of adapter_config.json. */
	baseModel: string | null;
	r: number | null;
	targetModules: string[] | null;
}

export function adapterFileUrl(ref: AdapterRef, file: string, hubBaseUrl = HF_HUB_URL): string {
	if (ref.kind === 'hub') return hubFileUrl(ref.repo, ref.revision, file, hubBaseUrl);
	return `${ref.url.replace(/\/+$/, '')}/${encodeURIComponent(file)}`;
}

/** The size a HEAD response declares (X-Linked-Size is the hub's size of an LFS file behind a redirect). */
export function declaredSize(response: Response): number | null {
	for (const name of ['x-linked-size', 'content-length']) {
		const v = response.headers.get(name);
		if (v !== null && /^\d+$/.test(v.trim())) return Number(v);
	}
	return null;
}

/** A RemoteReadError as the ShareLinkError on `adapter` the share flow shows. */
function asShareError(e: unknown): never {
	if (e instanceof RemoteReadError) throw new ShareLinkError('adapter', e.message);
	throw e;
}

/**
 * HEAD both PEFT files, refuse the adapter when their declared size is over the cap, and read the
 * base model from adapter_config.json. Errors are ShareLinkErrors on the field `adapter`. Call it
 * only after the user agreed to load the link: it contacts the adapter's host.
 */
export async function inspectSharedAdapter(
	ref: AdapterRef,
	options: AdapterCheckOptions = {}
): Promise<AdapterInspection> {
	const maxBytes = options.maxBytes ?? MAX_ADAPTER_BYTES;
	const read = { fetch: options.fetch, timeoutMs: options.timeoutMs ?? CHECK_TIMEOUT_MS };
	const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
	const files: AdapterInspection['files'] = [];
	for (const name of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]) {
		const url = adapterFileUrl(ref, name, options.hubBaseUrl);
		let response: Response;
		try {
			response = await remoteHead(url, { ...read, maxBytes });
		} catch (e) {
			if (e instanceof RemoteReadError && e.reason === 'not-found')
				throw new ShareLinkError(
					'adapter',
					`no ${name} at ${url} (PEFT files must be at the root)`
				);
			asShareError(e);
		}
		files.push({ name, url, bytes: declaredSize(response!) });
	}
	const known = files.every((f) => f.bytes !== null);
	const totalBytes = known ? files.reduce((a, f) => a + (f.bytes ?? 0), 0) : null;
	if (totalBytes !== null && totalBytes > maxBytes)
		throw new ShareLinkError(
			'adapter',
			`the adapter files declare ${mb(totalBytes)}, over the ${mb(maxBytes)} limit for shared adapters`
		);
	const configFile = files[0];
	if (configFile.bytes !== null && configFile.bytes > MAX_CONFIG_BYTES)
		throw new ShareLinkError(
			'adapter',
			`${ADAPTER_CONFIG_FILE} is ${mb(configFile.bytes)}: not an adapter config`
		);

	let text: string;
	try {
		text = await remoteText(configFile.url, {
			...read,
			maxBytes: MAX_CONFIG_BYTES,
			what: ADAPTER_CONFIG_FILE
		});
	} catch (e) {
		asShareError(e);
	}
	let config: Record<string, unknown>;
	try {
		config = JSON.parse(text!) as Record<string, unknown>;
	} catch (e) {
		throw new ShareLinkError(
			'adapter',
			`could not read ${ADAPTER_CONFIG_FILE} from ${configFile.url}: ${(e as Error).message}`
		);
	}
	const baseModel =
		typeof config.base_model_name_or_path === 'string' ? config.base_model_name_or_path : null;
	const r = typeof config.r === 'number' ? config.r : null;
	const targetModules = Array.isArray(config.target_modules)
		? config.target_modules.filter((m): m is string => typeof m === 'string')
		: typeof config.target_modules === 'string'
			? [config.target_modules]
			: null;
	return { files, totalBytes, baseModel, r, targetModules };
}

/**
 * Downloads a shared adapter's two PEFT files (size-capped and time-limited while reading, see
 * net/remote-read.ts) and returns them by name, ready for `importPeftFolder`, which validates
 * names, shapes, dtypes and values like any import.
 */
export async function downloadSharedAdapter(
	ref: AdapterRef,
	options: AdapterCheckOptions = {}
): Promise<Map<string, Uint8Array>> {
	const maxBytes = options.maxBytes ?? MAX_ADAPTER_BYTES;
	const files = new Map<string, Uint8Array>();
	let budget = maxBytes;
	for (const name of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]) {
		const url = adapterFileUrl(ref, name, options.hubBaseUrl);
		let bytes: Uint8Array;
		try {
			bytes = await remoteBytes(url, {
				fetch: options.fetch,
				timeoutMs: options.timeoutMs ?? DOWNLOAD_TIMEOUT_MS,
				maxBytes: budget
			});
		} catch (e) {
			if (e instanceof RemoteReadError && e.reason === 'cap')
				throw new ShareLinkError(
					'adapter',
					`${url} sends more than the ${maxBytes} bytes allowed for a shared adapter (both files together)`
				);
			asShareError(e);
		}
		budget -= bytes!.byteLength;
		files.set(name, bytes!);
	}
	return files;
}
