#!/usr/bin/env node
// A local stand-in for the Hugging Face Hub, for tests: it speaks exactly the endpoints that
// @huggingface/hub calls when the studio publishes (whoami-v2, repos/create, preupload, the git-LFS
// batch API with "basic" transfers, the ndjson commit) and the `resolve` downloads the studio reads
// adapters back with. Everything is kept in memory; nothing leaves 127.0.0.1.
//
// One access token is accepted (401 for any other); repos in another user's namespace give 403;
// creating a repo that exists gives 409, as the Hub does. OAuth (what oauthLoginUrl /
// oauthHandleRedirectIfPresent use): the OpenID configuration, an authorize endpoint that approves
// at once and redirects back with a code, the PKCE (S256) token exchange giving the known token,
// and userinfo.
//
//   node scripts/hub-standin.mjs [--port 0] [--token hf_test] [--user tester]
//   import { startHubStandin } from './scripts/hub-standin.mjs'  →  { url, repos, close() }
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const CORS = {
	'Access-Control-Allow-Origin': '*',
	'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, OPTIONS',
	'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, X-Request-Id, Range',
	'Access-Control-Expose-Headers':
		'Content-Length, ETag, X-Linked-Size, X-Repo-Commit, X-Request-Id, X-Error-Code'
};

/** Files larger than this, or binary ones, go through LFS (as the Hub's preupload decides). */
const REGULAR_MAX_BYTES = 10 * 1024 * 1024;
const LFS_EXTENSIONS = /\.(safetensors|bin|gguf|png|jpg|jpeg|zip|parquet)$/i;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * Start the stand-in. `repos` (returned) maps `type:owner/name` → { owner, private, commits:
 * [{ oid, title, files: Map<path, Buffer> }] }, the newest last. `existing` pre-creates repos,
 * e.g. `[{ type: 'model', name: 'someone-else/taken' }]`.
 *
 * @param {{ port?: number, token?: string, user?: string, orgs?: string[],
 *   existing?: { type?: string, name: string, private?: boolean }[], oauthClientId?: string }} [options]
 */
export async function startHubStandin({
	port = 0,
	token = 'hf_standin_token',
	user = 'tester',
	orgs = [],
	existing = [],
	oauthClientId = 'standin-client'
} = {}) {
	const repos = new Map();
	/** LFS objects uploaded (oid → bytes), before a commit refers to them. */
	const lfs = new Map();
	/** OAuth codes handed out: code → { challenge, redirectUri, scope }. */
	const codes = new Map();
	/** Every request, for tests that check what was asked (method, path). */
	const requests = [];
	const addRepo = (type, name, owner, isPrivate = false) => {
		const repo = { type, name, owner, private: isPrivate, commits: [] };
		repos.set(`${type}:${name}`, repo);
		return repo;
	};
	for (const r of existing) addRepo(r.type ?? 'model', r.name, r.name.split('/')[0], r.private);

	let base = '';
	const server = createServer(async (req, res) => {
		const url = new URL(req.url ?? '/', 'http://standin');
		const path = decodeURIComponent(url.pathname);
		requests.push({ method: req.method, path });
		const send = (status, body, headers = {}) => {
			const isJson = body !== null && typeof body === 'object' && !Buffer.isBuffer(body);
			const data = isJson ? Buffer.from(JSON.stringify(body)) : (body ?? Buffer.alloc(0));
			res.writeHead(status, {
				...CORS,
				...(isJson ? { 'Content-Type': 'application/json' } : {}),
				'Content-Length': String(data.length),
				...headers
			});
			res.end(req.method === 'HEAD' ? undefined : data);
		};
		const fail = (status, error) => send(status, { error });
		if (req.method === 'OPTIONS') return send(204, null);
		try {
			const chunks = [];
			for await (const c of req) chunks.push(c);
			const body = Buffer.concat(chunks);
			const authorized = req.headers.authorization === `Bearer ${token}`;
			const canWrite = (owner) => owner === user || orgs.includes(owner);
			let m;

			if (req.method === 'GET' && path === '/.well-known/openid-configuration')
				return send(200, {
					issuer: base,
					authorization_endpoint: `${base}/oauth/authorize`,
					token_endpoint: `${base}/oauth/token`,
					userinfo_endpoint: `${base}/oauth/userinfo`
				});

			if (req.method === 'GET' && path === '/oauth/authorize') {
				const q = url.searchParams;
				const back = new URL(q.get('redirect_uri') ?? '');
				if (q.get('client_id') !== oauthClientId) return fail(400, 'unknown client_id');
				const scopes = (q.get('scope') ?? '').split(' ');
				if (!scopes.includes('write-repos') || !scopes.includes('manage-repos'))
					back.searchParams.set('error', 'invalid_scope');
				else {
					const code = createHash('sha1').update(`${Math.random()}`).digest('hex');
					codes.set(code, {
						challenge: q.get('code_challenge'),
						redirectUri: q.get('redirect_uri'),
						scope: q.get('scope')
					});
					back.searchParams.set('code', code);
				}
				back.searchParams.set('state', q.get('state') ?? '');
				res.writeHead(302, { ...CORS, Location: back.href });
				return res.end();
			}

			if (req.method === 'POST' && path === '/oauth/token') {
				const p = new URLSearchParams(body.toString('utf8'));
				const grant = codes.get(p.get('code'));
				codes.delete(p.get('code'));
				const challenge = createHash('sha256')
					.update(p.get('code_verifier') ?? '')
					.digest('base64url');
				if (!grant || grant.redirectUri !== p.get('redirect_uri') || grant.challenge !== challenge)
					return fail(400, 'invalid_grant');
				return send(200, {
					access_token: token,
					expires_in: 8 * 3600,
					id_token: '',
					scope: grant.scope,
					token_type: 'bearer'
				});
			}

			if (req.method === 'GET' && path === '/oauth/userinfo') {
				if (!authorized) return fail(401, 'Invalid credentials in Authorization header');
				return send(200, {
					sub: 'standin-user',
					name: user,
					preferred_username: user,
					picture: '',
					profile: `${base}/${user}`,
					isPro: false,
					orgs: orgs.map((o) => ({ sub: `org-${o}`, name: o, preferred_username: o, picture: '' }))
				});
			}

			if (req.method === 'GET' && path === '/api/whoami-v2') {
				if (!authorized) return fail(401, 'Invalid credentials in Authorization header');
				return send(200, {
					type: 'user',
					id: 'standin-user',
					name: user,
					fullname: user,
					email: `${user}@example.invalid`,
					emailVerified: true,
					isPro: false,
					canPay: false,
					avatarUrl: '',
					periodEnd: null,
					orgs: orgs.map((o) => ({ type: 'org', id: `org-${o}`, name: o, fullname: o })),
					auth: {
						type: 'access_token',
						accessToken: { displayName: 'stand-in', role: 'write', createdAt: new Date(0) }
					}
				});
			}

			if (req.method === 'POST' && path === '/api/repos/create') {
				if (!authorized) return fail(401, 'Invalid credentials in Authorization header');
				const p = JSON.parse(body.toString('utf8'));
				const owner = p.organization ?? user;
				const name = `${owner}/${p.name}`;
				const type = p.type ?? 'model';
				if (!canWrite(owner))
					return fail(
						403,
						`You don't have the rights to create a ${type} under the namespace "${owner}"`
					);
				if (repos.has(`${type}:${name}`)) return fail(409, `You already created this ${type} repo`);
				addRepo(type, name, owner, p.visibility === 'private' || p.private === true);
				const prefix = type === 'model' ? '' : `${type}s/`;
				return send(200, { url: `${base}/${prefix}${name}`, name, id: `id-${name}` });
			}

			// /api/{models|datasets}/{owner}/{name}/(preupload|commit)/{rev}
			if (
				req.method === 'POST' &&
				(m = /^\/api\/(model|dataset|space)s\/([^/]+\/[^/]+)\/(preupload|commit)\/(.+)$/.exec(path))
			) {
				const [, type, name, action, branch] = m;
				if (!authorized) return fail(401, 'Invalid credentials in Authorization header');
				const repo = repos.get(`${type}:${name}`);
				if (!repo) return fail(404, 'Repository not found');
				if (!canWrite(repo.owner)) return fail(403, 'You do not have write access to this repo');
				if (branch !== 'main') return fail(404, `Invalid rev id: ${branch}`);
				if (action === 'preupload') {
					const p = JSON.parse(body.toString('utf8'));
					return send(200, {
						files: p.files.map((f) => ({
							path: f.path,
							uploadMode:
								f.size > REGULAR_MAX_BYTES || LFS_EXTENSIONS.test(f.path) ? 'lfs' : 'regular',
							shouldIgnore: false
						}))
					});
				}
				if (!String(req.headers['content-type']).startsWith('application/x-ndjson'))
					return fail(400, 'commit must be application/x-ndjson');
				const lines = body
					.toString('utf8')
					.split('\n')
					.filter((l) => l.trim())
					.map((l) => JSON.parse(l));
				const header = lines.find((l) => l.key === 'header');
				if (!header) return fail(400, 'commit without a header line');
				const parent = repo.commits.at(-1);
				const files = new Map(parent?.files ?? []);
				for (const { key, value } of lines) {
					if (key === 'file')
						files.set(value.path, Buffer.from(value.content, value.encoding ?? 'utf-8'));
					else if (key === 'lfsFile') {
						const bytes = lfs.get(value.oid);
						if (!bytes)
							return fail(400, `LFS object ${value.oid} of ${value.path} was never uploaded`);
						if (bytes.length !== value.size)
							return fail(400, `LFS size mismatch for ${value.path}`);
						files.set(value.path, bytes);
					} else if (key === 'deletedFile') files.delete(value.path);
				}
				const oid = createHash('sha1')
					.update(`${parent?.oid ?? ''}\n${header.value.summary}\n${repo.commits.length}`)
					.update(JSON.stringify([...files].map(([p, b]) => [p, sha256(b)])))
					.digest('hex');
				repo.commits.push({ oid, title: header.value.summary, files });
				const prefix = type === 'model' ? '' : `${type}s/`;
				return send(200, {
					success: true,
					commitOid: oid,
					commitUrl: `${base}/${prefix}${name}/commit/${oid}`
				});
			}

			// git-LFS batch: /{owner}/{name}.git/info/lfs/objects/batch (datasets/ prefixed)
			if (
				req.method === 'POST' &&
				(m = /^\/(?:(dataset|space)s\/)?([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(path))
			) {
				const type = m[1] ?? 'model';
				if (!authorized) return fail(401, 'Invalid credentials in Authorization header');
				const repo = repos.get(`${type}:${m[2]}`);
				if (!repo) return fail(404, 'Repository not found');
				if (!canWrite(repo.owner)) return fail(403, 'You do not have write access to this repo');
				const p = JSON.parse(body.toString('utf8'));
				return send(
					200,
					{
						transfer: 'basic',
						objects: p.objects.map((o) => ({
							oid: o.oid,
							size: o.size,
							authenticated: true,
							...(lfs.has(o.oid)
								? {}
								: { actions: { upload: { href: `${base}/__lfs/${o.oid}`, expires_in: 3600 } } })
						}))
					},
					{ 'Content-Type': 'application/vnd.git-lfs+json' }
				);
			}

			if (req.method === 'PUT' && (m = /^\/__lfs\/([0-9a-f]{64})$/.exec(path))) {
				if (sha256(body) !== m[1]) return fail(400, 'the uploaded bytes do not match the oid');
				lfs.set(m[1], body);
				return send(200, null, { ETag: `"${m[1]}"` });
			}

			// /{owner}/{name}/resolve/{rev}/{file} (datasets/ prefixed)
			if (
				(req.method === 'GET' || req.method === 'HEAD') &&
				(m = /^\/(?:(dataset|space)s\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path))
			) {
				const [, type = 'model', name, rev, file] = m;
				const repo = repos.get(`${type}:${name}`);
				if (!repo || (repo.private && !authorized)) return fail(404, 'Repository not found');
				const commit =
					rev === 'main' ? repo.commits.at(-1) : repo.commits.find((c) => c.oid === rev);
				if (!commit) return fail(404, `Revision not found: ${rev}`);
				const bytes = commit.files.get(file);
				if (!bytes)
					return fail(404, `Entry not found: ${file}`, { 'X-Error-Code': 'EntryNotFound' });
				return send(200, bytes, {
					'Content-Type': 'application/octet-stream',
					'X-Repo-Commit': commit.oid,
					...(LFS_EXTENSIONS.test(file) ? { 'X-Linked-Size': String(bytes.length) } : {}),
					ETag: `"${sha256(bytes)}"`
				});
			}
			return fail(404, `the stand-in does not serve ${req.method} ${path}`);
		} catch (e) {
			return fail(500, String(e?.message ?? e));
		}
	});
	await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
	base = `http://127.0.0.1:${server.address().port}`;
	return {
		url: base,
		token,
		user,
		repos,
		requests,
		/**
		 * The files of a repo at a revision (default: the newest commit).
		 * @param {string} name
		 * @param {{ type?: string, revision?: string }} [options]
		 */
		files(name, { type = 'model', revision } = {}) {
			const repo = repos.get(`${type}:${name}`);
			const commit = revision
				? repo?.commits.find((c) => c.oid === revision)
				: repo?.commits.at(-1);
			return commit?.files ?? null;
		},
		close: () =>
			new Promise((ok) => {
				server.closeAllConnections?.();
				server.close(() => ok());
			})
	};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const arg = (name, fallback) => {
		const i = process.argv.indexOf(`--${name}`);
		return i > 0 ? process.argv[i + 1] : fallback;
	};
	const hub = await startHubStandin({
		port: Number(arg('port', '0')),
		token: arg('token', 'hf_standin_token'),
		user: arg('user', 'tester')
	});
	console.log(`Hub stand-in at ${hub.url} (token ${hub.token}, user ${hub.user})`);
}
