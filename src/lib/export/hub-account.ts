/**
 * The Hub credentials kept in this browser (IndexedDB settings, never in a share link, a share
 * state or an export): a user access token checked with `whoAmI`, or one obtained by Hugging Face
 * OAuth (`oauthLoginUrl` / `oauthHandleRedirectIfPresent`) where the studio's origin is registered
 * for an OAuth app whose client id the user entered.
 */
import { oauthHandleRedirectIfPresent, oauthLoginUrl } from '@huggingface/hub';
import { getSetting, putSetting, type StudioDatabase } from '../data/db';
import { checkToken, hubErrorOf } from './hub-publish';

/** Setting key of the stored credentials ({@link HubCredentials}). */
export const HUB_TOKEN_SETTING = 'hub.token';
/** Setting key of the OAuth app's client id ('' = no OAuth on this origin). */
export const HUB_OAUTH_CLIENT_SETTING = 'hub.oauthClientId';
/** Scopes to create repos and push to them (plus who the user is). */
export const HUB_OAUTH_SCOPES = 'openid profile write-repos manage-repos';

export interface HubCredentials {
	token: string;
	/** The account the token belongs to (checked when stored). */
	name: string;
	namespaces: string[];
	via: 'token' | 'oauth';
	/** The hub the token was checked against. */
	hubUrl: string;
	/** OAuth tokens expire (ms since epoch). */
	expiresAt?: number;
}

export async function loadHubCredentials(db: StudioDatabase): Promise<HubCredentials | null> {
	const c = await getSetting<HubCredentials | null>(db, HUB_TOKEN_SETTING, null);
	if (!c || typeof c.token !== 'string') return null;
	if (c.expiresAt !== undefined && c.expiresAt < Date.now()) return null;
	return c;
}

/** Checks the token with whoAmI against `hubUrl`, then keeps it; throws HubPublishError otherwise. */
export async function saveHubToken(
	db: StudioDatabase,
	hubUrl: string,
	token: string
): Promise<HubCredentials> {
	const account = await checkToken(hubUrl, token.trim());
	const creds: HubCredentials = {
		token: token.trim(),
		name: account.name,
		namespaces: account.namespaces,
		via: 'token',
		hubUrl
	};
	await putSetting(db, HUB_TOKEN_SETTING, creds);
	return creds;
}

export async function removeHubCredentials(db: StudioDatabase): Promise<void> {
	await db.settings.delete(HUB_TOKEN_SETTING);
}

/** Where "Sign in with Hugging Face" goes; comes back to `redirectUrl` (the settings page). */
export function hubOAuthLoginUrl(
	clientId: string,
	hubUrl: string,
	redirectUrl: string
): Promise<string> {
	return oauthLoginUrl({ clientId, hubUrl, scopes: HUB_OAUTH_SCOPES, redirectUrl });
}

/**
 * After an OAuth redirect (`?code=…&state=…` in the URL): exchange the code, keep the token, and
 * return the credentials; null when the page was not opened by a redirect.
 */
export async function finishOAuthLogin(
	db: StudioDatabase,
	hubUrl: string
): Promise<HubCredentials | null> {
	let result: Awaited<ReturnType<typeof oauthHandleRedirectIfPresent>>;
	try {
		result = await oauthHandleRedirectIfPresent({ hubUrl });
	} catch (e) {
		throw hubErrorOf(e, 'signing in with Hugging Face');
	}
	if (!result) return null;
	const info = result.userInfo;
	const creds: HubCredentials = {
		token: result.accessToken,
		name: info.preferred_username,
		namespaces: [info.preferred_username, ...(info.orgs ?? []).map((o) => o.preferred_username)],
		via: 'oauth',
		hubUrl,
		expiresAt: new Date(result.accessTokenExpiresAt).getTime()
	};
	await putSetting(db, HUB_TOKEN_SETTING, creds);
	return creds;
}

export async function loadOAuthClientId(db: StudioDatabase): Promise<string> {
	return getSetting<string>(db, HUB_OAUTH_CLIENT_SETTING, '');
}

export async function saveOAuthClientId(db: StudioDatabase, clientId: string): Promise<void> {
	await putSetting(db, HUB_OAUTH_CLIENT_SETTING, clientId.trim());
}
