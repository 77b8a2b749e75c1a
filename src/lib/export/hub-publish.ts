/**
 * Publishing to the Hugging Face Hub (or a server with its API: a test stand-in, a mirror) through
 * `@huggingface/hub` — `whoAmI` to check a token, `createRepo`, `uploadFilesWithProgress` (preupload,
 * git-LFS batch + upload, ndjson commit). No Hub HTTP is written here; `hubUrl` redirects every call.
 *
 * Uploads use git-LFS "basic" transfers (`useXet: false`): plain PUTs of the file bytes, which the
 * Hub accepts for every repo and a stand-in can serve; the Xet protocol would need its own storage
 * service and WebAssembly chunker for adapters of a few MB.
 *
 * Errors become a HubPublishError with a code the UI words in the user's language: a refused token
 * (401), no write access / a namespace that is not yours (403), a name already taken (409), no
 * network (the request never got an answer).
 */
import { HubApiError, createRepo, uploadFilesWithProgress, whoAmI } from '@huggingface/hub';
import { HF_HUB_URL } from '../model/hub';
import { isRepoId } from '../share/sources';

export type HubRepoType = 'model' | 'dataset';

export type HubErrorCode =
	'badToken' | 'forbidden' | 'taken' | 'offline' | 'notFound' | 'invalidName' | 'failed';

export class HubPublishError extends Error {
	constructor(
		readonly code: HubErrorCode,
		message: string,
		readonly status?: number
	) {
		super(message);
		this.name = 'HubPublishError';
	}
}

/** Any error of a Hub call → a HubPublishError (kept as is when it already is one). */
export function hubErrorOf(e: unknown, during = 'the Hub request'): HubPublishError {
	if (e instanceof HubPublishError) return e;
	if (e instanceof HubApiError) {
		const code: HubErrorCode =
			e.statusCode === 401
				? 'badToken'
				: e.statusCode === 403
					? 'forbidden'
					: e.statusCode === 409
						? 'taken'
						: e.statusCode === 404
							? 'notFound'
							: 'failed';
		return new HubPublishError(code, `${during}: HTTP ${e.statusCode}: ${e.message}`, e.statusCode);
	}
	const err = e as Error | undefined;
	// fetch rejects with a TypeError when nothing answers; the library's XHR path with an empty Error
	const offline =
		err?.name === 'TypeError' ||
		!err?.message ||
		globalThis.navigator?.onLine === false ||
		/fetch failed|network|ECONNREFUSED/i.test(err.message);
	return new HubPublishError(
		offline ? 'offline' : 'failed',
		`${during}: ${err?.message || 'no answer from the server'}`
	);
}

/** The Hub's API base: the mirror setting when one is set (a classroom hub, a test stand-in). */
export function publishHubUrl(mirror: string | null | undefined): string {
	return (mirror || HF_HUB_URL).replace(/\/+$/, '');
}

/** Who a token belongs to, and the namespaces it may publish under (the user and their orgs). */
export interface HubAccount {
	name: string;
	namespaces: string[];
	/** 'read' | 'write' | 'fineGrained' … as the Hub reports it (absent for OAuth). */
	role?: string;
}

/** Checks a token with `whoAmI`; a refused token is a HubPublishError 'badToken'. */
export async function checkToken(hubUrl: string, accessToken: string): Promise<HubAccount> {
	if (!/^\S{4,512}$/.test(accessToken))
		throw new HubPublishError('badToken', 'access token: expected one word of 4–512 characters');
	try {
		const who = await whoAmI({ accessToken, hubUrl });
		const orgs = 'orgs' in who ? who.orgs.map((o) => o.name) : [];
		return { name: who.name, namespaces: [who.name, ...orgs], role: who.auth?.accessToken?.role };
	} catch (e) {
		throw hubErrorOf(e, 'checking the access token');
	}
}

/** `abc…wxyz`: enough to recognise a token, not enough to use it. */
export function maskToken(token: string): string {
	if (token.length <= 8) return '•'.repeat(token.length);
	return `${token.slice(0, 3)}${'•'.repeat(6)}${token.slice(-4)}`;
}

export interface PublishFile {
	path: string;
	content: Blob;
}

export interface PublishProgress {
	phase: 'creating' | 'preuploading' | 'uploadingLargeFiles' | 'committing' | 'done';
	loaded: number;
	total: number;
	bytesPerSecond: number;
	/** null until something was sent. */
	etaSeconds: number | null;
}

export interface PublishRequest {
	hubUrl: string;
	accessToken: string;
	repo: string;
	type: HubRepoType;
	private: boolean;
	/** Publish into a repo that already exists (yours); otherwise a 409 is "name taken". */
	allowExisting: boolean;
	files: PublishFile[];
	title: string;
	onProgress?: (p: PublishProgress) => void;
	/** Clock for the ETA (tests). */
	now?: () => number;
}

export interface PublishResult {
	repo: string;
	type: HubRepoType;
	/** The commit the files landed in: what a share link pins (`hf:owner/name@<oid>`). */
	revision: string;
	/** The repo's page (`{hub}/{owner/name}` or `{hub}/datasets/{owner/name}`). */
	url: string;
	created: boolean;
}

/** The repo's web page on the hub. */
export function repoPageUrl(hubUrl: string, type: HubRepoType, repo: string): string {
	return `${hubUrl.replace(/\/+$/, '')}/${type === 'dataset' ? 'datasets/' : ''}${repo}`;
}

/** Create (or reuse) the repo and commit the files in one commit, reporting bytes and ETA. */
export async function publishFiles(req: PublishRequest): Promise<PublishResult> {
	if (!isRepoId(req.repo))
		throw new HubPublishError(
			'invalidName',
			`repo: not a Hugging Face repo id (owner/name): ${JSON.stringify(req.repo)}`
		);
	if (req.files.length === 0) throw new HubPublishError('failed', 'nothing to publish');
	const now = req.now ?? (() => performance.now());
	const total = req.files.reduce((a, f) => a + f.content.size, 0);
	const sizes = new Map(req.files.map((f) => [f.path, f.content.size]));
	const sent = new Map<string, number>();
	const started = now();
	let phase: PublishProgress['phase'] = 'creating';
	const report = () => {
		const loaded = Math.min(
			total,
			[...sent].reduce((a, [path, p]) => a + p * (sizes.get(path) ?? 0), 0)
		);
		const seconds = (now() - started) / 1000;
		const bytesPerSecond = seconds > 0 ? loaded / seconds : 0;
		const etaSeconds =
			phase === 'done'
				? 0
				: loaded > 0 && bytesPerSecond > 0
					? (total - loaded) / bytesPerSecond
					: null;
		req.onProgress?.({ phase, loaded, total, bytesPerSecond, etaSeconds });
	};
	report();

	const repo = { type: req.type, name: req.repo } as const;
	let created = true;
	try {
		await createRepo({
			repo,
			accessToken: req.accessToken,
			hubUrl: req.hubUrl,
			private: req.private
		});
	} catch (e) {
		const err = hubErrorOf(e, `creating ${req.repo}`);
		if (err.code !== 'taken' || !req.allowExisting) throw err;
		created = false;
	}

	let revision: string | undefined;
	try {
		const it = uploadFilesWithProgress({
			repo,
			accessToken: req.accessToken,
			hubUrl: req.hubUrl,
			files: req.files.map((f) => ({ path: f.path, content: f.content })),
			commitTitle: req.title,
			useXet: false
		});
		for (;;) {
			const step = await it.next();
			if (step.done) {
				revision = step.value?.commit.oid;
				break;
			}
			const event = step.value;
			if (event.event === 'phase') phase = event.phase;
			else if (event.state === 'uploading') sent.set(event.path, event.progress);
			report();
		}
	} catch (e) {
		throw hubErrorOf(e, `uploading to ${req.repo}`);
	}
	if (!revision)
		throw new HubPublishError('failed', `the Hub did not return a commit for ${req.repo}`);
	for (const path of sizes.keys()) sent.set(path, 1);
	phase = 'done';
	report();
	return {
		repo: req.repo,
		type: req.type,
		revision,
		url: repoPageUrl(req.hubUrl, req.type, req.repo),
		created
	};
}
