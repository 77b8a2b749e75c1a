/**
 * Share links: a chat's model source, character prompt, sampling settings and adapter reference
 * in the URL fragment of `/chat` — `#share=<base64url of {"v":1,…}>`. The fragment is never sent
 * to a server. The adapter travels by reference only (`hf:owner/name[@rev]` or an https URL); a
 * link never carries files, API keys or anything else from this browser: `shareStateOf` copies
 * exactly the fields below and nothing more.
 *
 * Opening a link is an import like any other: `decodeShareState` checks every field and throws a
 * ShareLinkError naming the one that is wrong; nothing is fetched until the user agrees.
 */
import type { SamplingSettings } from '../data/types';
import {
	ShareLinkError,
	checkModelUrl,
	checkRepoId,
	checkRevision,
	formatAdapterRef,
	parseAdapterRef,
	type AdapterRef
} from './sources';

export const SHARE_VERSION = 1;
export const SHARE_FRAGMENT_KEY = 'share';
/** Longest fragment value accepted (a QR code of version 40-L holds 2,953 bytes; links may be longer). */
export const MAX_SHARE_CHARS = 16_384;
export const MAX_CHARACTER_PROMPT_CHARS = 8_000;

/** A model a link may point at: a hub repo (loaded through the receiver's mirror, if any) or a URL. */
export type SharedModel =
	{ kind: 'hub'; repo: string; revision: string } | { kind: 'url'; url: string };

/** Version 1 of the link's state. */
export interface ShareState {
	v: typeof SHARE_VERSION;
	model: SharedModel;
	/** `hf:owner/name[@rev]` or an https URL of a PEFT folder. */
	adapter?: string;
	characterPrompt?: string;
	sampling?: SamplingSettings;
}

/** Build the state from the chat page's values, copying only what a link may carry. */
export function shareStateOf(input: {
	model: SharedModel;
	adapter?: AdapterRef | string | null;
	characterPrompt?: string;
	sampling?: SamplingSettings;
}): ShareState {
	const model: SharedModel =
		input.model.kind === 'hub'
			? { kind: 'hub', repo: input.model.repo, revision: input.model.revision }
			: { kind: 'url', url: input.model.url };
	const state: ShareState = { v: SHARE_VERSION, model };
	if (input.adapter)
		state.adapter =
			typeof input.adapter === 'string' ? input.adapter : formatAdapterRef(input.adapter);
	if (input.characterPrompt) state.characterPrompt = input.characterPrompt;
	if (input.sampling) {
		const s = input.sampling;
		state.sampling = {
			temperature: s.temperature,
			topK: s.topK,
			topP: s.topP,
			repetitionPenalty: s.repetitionPenalty,
			maxNewTokens: s.maxNewTokens,
			...(s.seed !== undefined ? { seed: s.seed } : {})
		};
	}
	// What goes out is exactly what a receiver would accept.
	return checkShareState(JSON.parse(JSON.stringify(state)));
}

// ------------------------------------------------------------------------ base64url

export function base64UrlEncode(bytes: Uint8Array): string {
	let binary = '';
	for (let i = 0; i < bytes.length; i += 0x8000)
		binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64UrlDecode(text: string): Uint8Array {
	if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1)
		throw new ShareLinkError('share', 'not valid base64url text');
	const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
	const binary = atob(b64);
	const out = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
	return out;
}

export function encodeShareState(state: ShareState): string {
	return base64UrlEncode(new TextEncoder().encode(JSON.stringify(state)));
}

/** The `#share=…` value → a checked ShareState, or a ShareLinkError naming the field. */
export function decodeShareState(encoded: string): ShareState {
	if (encoded.length > MAX_SHARE_CHARS)
		throw new ShareLinkError('share', `the link is too long (${encoded.length} characters)`);
	const bytes = base64UrlDecode(encoded);
	let text: string;
	try {
		text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		throw new ShareLinkError('share', 'not UTF-8 text');
	}
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch (e) {
		throw new ShareLinkError('share', `not valid JSON (${(e as Error).message})`);
	}
	return checkShareState(json);
}

/** The link for a state: `{appUrl}/chat#share=…` (appUrl is the studio's base, e.g. the origin). */
export function shareUrl(appUrl: string, state: ShareState): string {
	return `${appUrl.replace(/\/+$/, '')}/chat#${SHARE_FRAGMENT_KEY}=${encodeShareState(state)}`;
}

/** The share value of a location hash (`#share=…`), or null when the hash is something else. */
export function shareFragment(hash: string): string | null {
	const h = hash.startsWith('#') ? hash.slice(1) : hash;
	const prefix = `${SHARE_FRAGMENT_KEY}=`;
	return h.startsWith(prefix) ? h.slice(prefix.length) : null;
}

// ------------------------------------------------------------------------ validation

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(field: string, obj: Record<string, unknown>, allowed: string[]) {
	for (const k of Object.keys(obj))
		if (!allowed.includes(k))
			throw new ShareLinkError(field ? `${field}.${k}` : k, 'not a field of a share link');
}

function numberIn(field: string, v: unknown, min: number, max: number, integer = false): number {
	if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
		throw new ShareLinkError(
			field,
			`expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`
		);
	if (integer && !Number.isInteger(v)) throw new ShareLinkError(field, 'expected a whole number');
	return v;
}

function checkSampling(v: unknown): SamplingSettings {
	if (!isObject(v)) throw new ShareLinkError('sampling', 'expected an object');
	onlyKeys('sampling', v, [
		'temperature',
		'topK',
		'topP',
		'repetitionPenalty',
		'maxNewTokens',
		'seed'
	]);
	const s: SamplingSettings = {
		temperature: numberIn('sampling.temperature', v.temperature, 0, 2),
		topK: numberIn('sampling.topK', v.topK, 0, 1000, true),
		topP: numberIn('sampling.topP', v.topP, 0, 1),
		repetitionPenalty: numberIn('sampling.repetitionPenalty', v.repetitionPenalty, 1, 2),
		maxNewTokens: numberIn('sampling.maxNewTokens', v.maxNewTokens, 1, 8192, true)
	};
	if (v.seed !== undefined) s.seed = numberIn('sampling.seed', v.seed, 0, 2 ** 32 - 1, true);
	return s;
}

function checkModel(v: unknown): SharedModel {
	if (!isObject(v)) throw new ShareLinkError('model', 'expected an object');
	if (v.kind === 'hub') {
		onlyKeys('model', v, ['kind', 'repo', 'revision']);
		return {
			kind: 'hub',
			repo: checkRepoId('model.repo', v.repo),
			revision: v.revision === undefined ? 'main' : checkRevision('model.revision', v.revision)
		};
	}
	if (v.kind === 'url') {
		onlyKeys('model', v, ['kind', 'url']);
		return { kind: 'url', url: checkModelUrl('model.url', v.url) };
	}
	throw new ShareLinkError('model.kind', `expected "hub" or "url", got ${JSON.stringify(v.kind)}`);
}

/** Check a parsed link state; unknown fields are refused (a link carries nothing unexpected). */
export function checkShareState(json: unknown): ShareState {
	if (!isObject(json)) throw new ShareLinkError('share', 'expected a JSON object');
	if (json.v !== SHARE_VERSION)
		throw new ShareLinkError(
			'v',
			`unknown share link version ${JSON.stringify(json.v)} (this studio reads version ${SHARE_VERSION})`
		);
	onlyKeys('', json, ['v', 'model', 'adapter', 'characterPrompt', 'sampling']);
	const state: ShareState = { v: SHARE_VERSION, model: checkModel(json.model) };
	if (json.adapter !== undefined) {
		// normalised form: hf:owner/name[@rev] or the URL
		state.adapter = formatAdapterRef(parseAdapterRef('adapter', json.adapter));
	}
	if (json.characterPrompt !== undefined) {
		if (typeof json.characterPrompt !== 'string')
			throw new ShareLinkError('characterPrompt', 'expected text');
		if (json.characterPrompt.length > MAX_CHARACTER_PROMPT_CHARS)
			throw new ShareLinkError(
				'characterPrompt',
				`longer than ${MAX_CHARACTER_PROMPT_CHARS} characters`
			);
		state.characterPrompt = json.characterPrompt;
	}
	if (json.sampling !== undefined) state.sampling = checkSampling(json.sampling);
	return state;
}
