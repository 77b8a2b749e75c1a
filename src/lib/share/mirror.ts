/**
 * The model mirror (a server with the hub's `{base}/{repo}/resolve/{rev}/{file}` layout used
 * instead of https://huggingface.co — a classroom server, a local copy) and the list of places the
 * studio may contact, shown in Settings so a teacher can see what leaves the machine.
 */
import { HF_HUB_URL } from '../model/hub';
import { checkMirrorUrl } from './sources';
import { SETTINGS } from '../data/settings';

/** Setting key of the mirror base URL ('' or absent = the hub itself). */
export const MIRROR_SETTING = SETTINGS.mirror.key;
/** The judge page's settings ({kind, endpoint, model, apiKey, …}); only the endpoint is read here. */
export const JUDGE_REMOTE_SETTING = SETTINGS.judgeRemote.key;

/** The remote judge endpoint in use, from either setting; null when the judge is local. */
export function judgeEndpointOf(
	endpointSetting: string | null | undefined,
	remoteSetting: { kind?: string; endpoint?: string } | null | undefined
): string | null {
	if (endpointSetting) return endpointSetting;
	return remoteSetting?.kind === 'remote' && remoteSetting.endpoint ? remoteSetting.endpoint : null;
}
export const MIRROR_FRAGMENT_KEY = 'mirror';

/** `/settings#mirror=<url-encoded base>` — what the classroom server's QR code opens. */
export function mirrorPresetUrl(appUrl: string, mirror: string): string {
	return `${appUrl.replace(/\/+$/, '')}/settings#${MIRROR_FRAGMENT_KEY}=${encodeURIComponent(mirror)}`;
}

/** The mirror proposed by a location hash, checked, or null when there is none. */
export function mirrorFromHash(hash: string, appOrigin: string): string | null {
	const h = hash.startsWith('#') ? hash.slice(1) : hash;
	const value = new URLSearchParams(h).get(MIRROR_FRAGMENT_KEY);
	if (value === null) return null;
	return checkMirrorUrl(value, appOrigin);
}

/** The base URL hub downloads use: the mirror when one is set, else the hub. */
export function hubBaseUrl(mirror: string | null | undefined): string {
	return mirror ? mirror : HF_HUB_URL;
}

export interface NetworkDestination {
	/** What is fetched there. */
	purpose: 'hub' | 'mirror' | 'judge' | 'share';
	/** Origin (scheme, host, port), or the text as set when it is not a URL. */
	origin: string;
}

function originOf(url: string): string {
	try {
		return new URL(url).origin;
	} catch {
		return url;
	}
}

/**
 * Every destination the studio may contact with the current settings: the hub (or the mirror in
 * its place), the remote judge when one is configured, and — only when the user opens a share
 * link and agrees — the adapter/model URL that link names.
 */
export function networkDestinations(settings: {
	mirror?: string | null;
	judgeEndpoint?: string | null;
}): NetworkDestination[] {
	const list: NetworkDestination[] = [];
	if (settings.mirror) list.push({ purpose: 'mirror', origin: originOf(settings.mirror) });
	else list.push({ purpose: 'hub', origin: HF_HUB_URL });
	if (settings.judgeEndpoint)
		list.push({ purpose: 'judge', origin: originOf(settings.judgeEndpoint) });
	list.push({ purpose: 'share', origin: '' });
	return list;
}
