/**
 * What a shared adapter reference points at, found out before anything large is downloaded: the
 * PEFT files' declared sizes (HEAD → Content-Length, or the hub's X-Linked-Size for LFS files) and
 * the base model named in adapter_config.json. An adapter over the size cap is refused up front.
 */
import { HF_HUB_URL, hubFileUrl } from '../model/hub';
import { ShareLinkError, type AdapterRef } from './sources';

import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from '../lora/tensor-names';
/** A LoRA adapter of Gemma-2 2B is a few MB; anything this big is not what a link should pull in. */
export const MAX_ADAPTER_BYTES = 64 * 1024 * 1024;
/** adapter_config.json is a few hundred bytes. */
const MAX_CONFIG_BYTES = 256 * 1024;

export interface AdapterCheckOptions {
	/** Hub or mirror base for `hf:` references (default https://huggingface.co). */
	hubBaseUrl?: string;
	maxBytes?: number;
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

/**
 * HEAD both PEFT files, refuse the adapter when their declared size is over the cap, and read the
 * base model from adapter_config.json. Errors are ShareLinkErrors on the field `adapter`.
 */
export async function inspectSharedAdapter(
	ref: AdapterRef,
	options: AdapterCheckOptions = {}
): Promise<AdapterInspection> {
	const doFetch = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
	const maxBytes = options.maxBytes ?? MAX_ADAPTER_BYTES;
	const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
	const files: AdapterInspection['files'] = [];
	for (const name of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]) {
		const url = adapterFileUrl(ref, name, options.hubBaseUrl);
		let response: Response;
		try {
			response = await doFetch(url, { method: 'HEAD' });
		} catch (e) {
			throw new ShareLinkError('adapter', `could not reach ${url}: ${(e as Error).message}`);
		}
		if (response.status === 404)
			throw new ShareLinkError('adapter', `no ${name} at ${url} (PEFT files must be at the root)`);
		if (!response.ok) throw new ShareLinkError('adapter', `HTTP ${response.status} for ${url}`);
		files.push({ name, url, bytes: declaredSize(response) });
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

	let baseModel: string | null = null;
	let r: number | null = null;
	let targetModules: string[] | null = null;
	try {
		const response = await doFetch(configFile.url);
		if (!response.ok) throw new Error(`HTTP ${response.status}`);
		const text = await response.text();
		if (text.length > MAX_CONFIG_BYTES) throw new Error('too large');
		const config = JSON.parse(text) as Record<string, unknown>;
		if (typeof config.base_model_name_or_path === 'string')
			baseModel = config.base_model_name_or_path;
		if (typeof config.r === 'number') r = config.r;
		if (Array.isArray(config.target_modules))
			targetModules = config.target_modules.filter((m): m is string => typeof m === 'string');
		else if (typeof config.target_modules === 'string') targetModules = [config.target_modules];
	} catch (e) {
		throw new ShareLinkError(
			'adapter',
			`could not read ${ADAPTER_CONFIG_FILE} from ${configFile.url}: ${(e as Error).message}`
		);
	}
	return { files, totalBytes, baseModel, r, targetModules };
}

/** Reads a response body, refusing it as soon as it passes `maxBytes` (declared sizes can lie). */
async function readCapped(
	response: Response,
	url: string,
	maxBytes: number,
	limit: number
): Promise<Uint8Array> {
	const reader = response.body?.getReader();
	if (!reader) return new Uint8Array(await response.arrayBuffer());
	const parts: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > maxBytes) {
			await reader.cancel();
			throw new ShareLinkError(
				'adapter',
				`${url} sends more than the ${limit} bytes allowed for a shared adapter`
			);
		}
		parts.push(value);
	}
	const out = new Uint8Array(total);
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out;
}

/**
 * Downloads a shared adapter's two PEFT files (size-capped while reading) and returns them by name,
 * ready for `importPeftFolder`, which validates names, shapes and dtypes like any import.
 */
export async function downloadSharedAdapter(
	ref: AdapterRef,
	options: AdapterCheckOptions = {}
): Promise<Map<string, Uint8Array>> {
	const doFetch = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
	const maxBytes = options.maxBytes ?? MAX_ADAPTER_BYTES;
	const files = new Map<string, Uint8Array>();
	let budget = maxBytes;
	for (const name of [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE]) {
		const url = adapterFileUrl(ref, name, options.hubBaseUrl);
		let response: Response;
		try {
			response = await doFetch(url);
		} catch (e) {
			throw new ShareLinkError('adapter', `could not reach ${url}: ${(e as Error).message}`);
		}
		if (!response.ok) throw new ShareLinkError('adapter', `HTTP ${response.status} for ${url}`);
		const bytes = await readCapped(response, url, budget, maxBytes);
		budget -= bytes.byteLength;
		files.set(name, bytes);
	}
	return files;
}
