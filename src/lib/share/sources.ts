/**
 * What a share link, a classroom preset or a mirror setting may point at, checked before anything
 * is fetched: Hugging Face repo ids and revisions, https URLs (http only for this machine), adapter
 * references (`hf:owner/name[@rev]` or an https URL of a PEFT folder).
 */

/** Something in a link or setting the studio will not use; `field` names it ("model.repo"). */
export class ShareLinkError extends Error {
	constructor(
		readonly field: string,
		message: string
	) {
		super(`${field}: ${message}`);
		this.name = 'ShareLinkError';
	}
}

/** The hub's repo id rules: `owner/name`, letters, digits, `-`, `_`, `.`, no `--` or `..`, ≤ 96 each. */
const REPO_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

export function isRepoId(repo: string): boolean {
	const parts = repo.split('/');
	return (
		parts.length === 2 &&
		parts.every((p) => REPO_PART.test(p) && !p.includes('--') && !p.includes('..'))
	);
}

/** A branch, tag or commit: no `..`, no leading `/`, no spaces or URL syntax. */
export function isRevision(revision: string): boolean {
	return (
		/^[A-Za-z0-9._/-]{1,128}$/.test(revision) &&
		!revision.includes('..') &&
		!revision.startsWith('/') &&
		!revision.endsWith('/')
	);
}

export function checkRepoId(field: string, repo: unknown): string {
	if (typeof repo !== 'string' || !isRepoId(repo))
		throw new ShareLinkError(
			field,
			`not a Hugging Face repo id (owner/name): ${JSON.stringify(repo)}`
		);
	return repo;
}

export function checkRevision(field: string, revision: unknown): string {
	if (typeof revision !== 'string' || !isRevision(revision))
		throw new ShareLinkError(field, `not a branch, tag or commit: ${JSON.stringify(revision)}`);
	return revision;
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(hostname: string): boolean {
	return LOOPBACK_HOSTS.includes(hostname);
}

/**
 * An absolute URL a link may make the studio fetch from: https anywhere, http only on this machine
 * (a local mirror). No credentials in the URL.
 */
export function checkRemoteUrl(field: string, value: unknown): string {
	if (typeof value !== 'string' || value.length > 2048)
		throw new ShareLinkError(field, 'expected a URL');
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new ShareLinkError(field, `not a valid URL: ${JSON.stringify(value)}`);
	}
	if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
		throw new ShareLinkError(
			field,
			`only https:// URLs (or http://localhost / http://127.0.0.1) are allowed, got ${url.protocol}//${url.host}`
		);
	if (url.username || url.password)
		throw new ShareLinkError(field, 'a URL must not carry a user name or password');
	return url.href;
}

/**
 * A model mirror (used instead of https://huggingface.co): like `checkRemoteUrl`, and also plain
 * http on the studio's own origin — the classroom server serves the studio and its models together.
 */
export function checkMirrorUrl(value: unknown, appOrigin?: string): string {
	const field = 'mirror';
	if (typeof value === 'string' && appOrigin) {
		try {
			const url = new URL(value);
			if (url.origin === appOrigin && !url.username && !url.password)
				return url.href.replace(/\/+$/, '');
		} catch {
			// reported below
		}
	}
	return checkRemoteUrl(field, value).replace(/\/+$/, '');
}

/** A model folder URL: like `checkRemoteUrl`, or a path on the studio's own server (`/models/…`). */
export function checkModelUrl(field: string, value: unknown): string {
	if (typeof value === 'string' && value.startsWith('/') && !value.startsWith('//')) {
		if (value.length > 1024 || /[\s\\]/.test(value) || value.split('/').includes('..'))
			throw new ShareLinkError(field, `not a usable path: ${JSON.stringify(value)}`);
		return value;
	}
	return checkRemoteUrl(field, value);
}

// ------------------------------------------------------------------------ adapter references

/** A LoRA adapter by reference: a hub repo with PEFT files at its root, or a PEFT folder URL. */
export type AdapterRef =
	{ kind: 'hub'; repo: string; revision: string } | { kind: 'url'; url: string };

/** `hf:owner/name[@rev]` or an https URL → AdapterRef; errors name `field`. */
export function parseAdapterRef(field: string, value: unknown): AdapterRef {
	if (typeof value !== 'string' || value.length === 0 || value.length > 2048)
		throw new ShareLinkError(field, 'expected hf:owner/name[@revision] or an https URL');
	if (value.startsWith('hf:')) {
		const rest = value.slice(3);
		const at = rest.indexOf('@');
		const repo = at >= 0 ? rest.slice(0, at) : rest;
		const revision = at >= 0 ? rest.slice(at + 1) : 'main';
		return {
			kind: 'hub',
			repo: checkRepoId(field, repo),
			revision: checkRevision(field, revision)
		};
	}
	if (!/^https?:\/\//i.test(value))
		throw new ShareLinkError(
			field,
			`expected hf:owner/name[@revision] or an https URL, got ${JSON.stringify(value.slice(0, 80))}`
		);
	return { kind: 'url', url: checkRemoteUrl(field, value) };
}

export function formatAdapterRef(ref: AdapterRef): string {
	if (ref.kind === 'url') return ref.url;
	return ref.revision === 'main' ? `hf:${ref.repo}` : `hf:${ref.repo}@${ref.revision}`;
}
