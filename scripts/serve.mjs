#!/usr/bin/env node
// Serves the built static studio (build/) with the SPA fallback, and optionally local model
// folders under /models/ (Range requests supported, so resumable downloads work the same as from
// the hub). Used by `npm start`, the e2e tests and the classroom server (scripts/classroom.mjs,
// which adds the hub layout at /hub/ through `createStudioServer`). The studio's own text files go
// out compressed (`sendCompressed`: brotli or gzip); model files never are (Range and sizes intact).
//
//   node scripts/serve.mjs [--port 4173] [--host 127.0.0.1] [--root build] [--models DIR]
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
	createReadStream,
	existsSync,
	readFileSync,
	readdirSync,
	realpathSync,
	statSync
} from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';

export const contentTypes = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json; charset=utf-8',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.wasm': 'application/wasm',
	'.webmanifest': 'application/manifest+json',
	'.txt': 'text/plain; charset=utf-8',
	'.wgsl': 'text/plain; charset=utf-8'
};

/**
 * Resolve a URL path inside a folder, refusing anything that escapes it and any dotfile (a path
 * segment starting with "."; `.env`, `.git/config`, `.cache/…` are never served).
 */
export function inside(dir, urlPath) {
	let decoded;
	try {
		decoded = decodeURIComponent(urlPath);
	} catch {
		return null;
	}
	if (decoded.includes('\0') || decoded.split(/[/\\]/).some((s) => s.startsWith('.'))) return null;
	const p = normalize(join(dir, decoded));
	return p === dir || p.startsWith(dir + sep) ? p : null;
}

/** The real path of `p` when it exists and resolves inside one of `roots` (real paths); else null. */
export function realInside(p, roots) {
	if (p === null) return null;
	let real;
	try {
		real = realpathSync(p);
	} catch {
		return null;
	}
	return roots.some((r) => real === r || real.startsWith(r + sep)) ? real : null;
}

/** The real paths of folders that exist (a symlinked folder given on the command line is its target). */
export function realRoots(dirs) {
	return dirs.filter((d) => existsSync(d)).map((d) => realpathSync(d));
}

/**
 * A regular file to serve: `urlPath` inside `dir` (see `inside`) whose real path — after every
 * symlink — is still inside one of `roots`. Symlinks within the folders are fine (a Hugging Face
 * cache is made of them); one that leads out (to /etc/passwd) is as good as missing.
 */
export function servableFile(dir, urlPath, roots) {
	const real = realInside(inside(dir, urlPath), roots);
	return real !== null && statSync(real).isFile() ? real : null;
}

function isFile(p) {
	return p !== null && existsSync(p) && statSync(p).isFile();
}

/**
 * CORS headers for a request: none unless the request's Origin is one of `allowed` (the studio
 * served from elsewhere, using this server as its model mirror). The studio this server serves is
 * on the same origin and needs none.
 */
export function corsHeaders(req, allowed = []) {
	const origin = req.headers.origin;
	if (!origin || !allowed.includes(origin)) return {};
	return {
		'Access-Control-Allow-Origin': origin,
		Vary: 'Origin',
		'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges'
	};
}

/** Send a file with Range support (206 / 416), HEAD without a body. */
export function sendFile(req, res, file, cache, cors = {}) {
	const { size } = statSync(file);
	const headers = {
		'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
		'Accept-Ranges': 'bytes',
		'Cache-Control': cache,
		'Cross-Origin-Opener-Policy': 'same-origin',
		...cors
	};
	const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
	if (range) {
		const start = Number(range[1]);
		const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
		if (start >= size || start > end) {
			res.writeHead(416, { 'Content-Range': `bytes */${size}` });
			return res.end();
		}
		res.writeHead(206, {
			...headers,
			'Content-Range': `bytes ${start}-${end}/${size}`,
			'Content-Length': end - start + 1
		});
		if (req.method === 'HEAD') return res.end();
		return createReadStream(file, { start, end }).pipe(res);
	}
	res.writeHead(200, { ...headers, 'Content-Length': size });
	if (req.method === 'HEAD') return res.end();
	createReadStream(file).pipe(res);
}

/** Text types worth compressing; model weights and wasm are sent as they are. */
const COMPRESSIBLE = new Set([
	'.html',
	'.js',
	'.mjs',
	'.css',
	'.json',
	'.svg',
	'.txt',
	'.webmanifest'
]);
/** Compressed bodies of unchanged files, by path, mtime and encoding (the shell is ~1 MB). */
const compressedCache = new Map();

/** The encoding to answer `accept-encoding` with: 'br', 'gzip' or null. */
export function pickEncoding(acceptEncoding = '') {
	const offered = acceptEncoding
		.split(',')
		.map((part) => part.trim().split(';'))
		.filter(([, q]) => !q || Number(q.split('=')[1]) > 0)
		.map(([name]) => name.trim().toLowerCase());
	return offered.includes('br') ? 'br' : offered.includes('gzip') ? 'gzip' : null;
}

/**
 * Send a text asset compressed (brotli or gzip, as the client accepts) with Content-Encoding and
 * `Vary: Accept-Encoding`; anything else — a Range request, a binary file, a client that accepts
 * neither — goes to `sendFile` unchanged. Returns what it did: 'br', 'gzip' or null.
 */
export function sendCompressed(req, res, file, cache) {
	const { size, mtimeMs } = statSync(file);
	const encoding = pickEncoding(req.headers['accept-encoding']);
	if (!encoding || req.headers.range || !COMPRESSIBLE.has(extname(file)) || size < 1024) {
		res.setHeader('Vary', 'Accept-Encoding');
		sendFile(req, res, file, cache);
		return null;
	}
	const key = `${file}\0${mtimeMs}\0${encoding}`;
	let body = compressedCache.get(key);
	if (!body) {
		const raw = readFileSync(file);
		body =
			encoding === 'br'
				? brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9 } })
				: gzipSync(raw, { level: 9 });
		compressedCache.set(key, body);
	}
	res.writeHead(200, {
		'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream',
		'Content-Encoding': encoding,
		'Content-Length': body.length,
		Vary: 'Accept-Encoding',
		'Cache-Control': cache,
		'Cross-Origin-Opener-Policy': 'same-origin'
	});
	res.end(req.method === 'HEAD' ? undefined : body);
	return encoding;
}

const REPO_PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Every regular file under a folder, as paths relative to it with '/' separators: no dotfiles, no
 * unfinished `.part` downloads, and symlinks followed only when they resolve inside `roots` (real
 * paths; default: the folder itself) — a folder reached twice through links is listed once.
 */
export function listFiles(dir, prefix = '', roots = realRoots([dir]), seen = new Set()) {
	const out = [];
	const realDir = realInside(dir, roots);
	if (realDir === null || seen.has(realDir)) return out;
	seen.add(realDir);
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		if (entry.name.startsWith('.') || entry.name.endsWith('.part')) continue;
		const path = join(dir, entry.name);
		const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
		const real = realInside(path, roots);
		if (real === null) continue;
		const st = statSync(real);
		if (st.isDirectory()) out.push(...listFiles(path, rel, roots, seen));
		else if (st.isFile()) out.push(rel);
	}
	return out;
}

/**
 * Answer a request under the hub layout from local folders `{dir}/{owner}/{name}/{file}`:
 *   /resolve: `{owner}/{name}/resolve/{any revision}/{file}` → the file (any revision maps to the folder)
 *   tree:     `api/models/{owner}/{name}/tree/{revision}` → [{type, path, size}] like the hub's API
 * `rest` is the path after the hub prefix. Returns false when nothing matched.
 */
export function serveHubLayout(req, res, dirs, rest, cors = {}) {
	const roots = realRoots(dirs);
	const parts = rest.split('/');
	const repoDir = (owner, name) => {
		if (!REPO_PART.test(owner ?? '') || !REPO_PART.test(name ?? '')) return null;
		for (const dir of dirs) {
			const d = inside(dir, `${owner}/${name}`);
			const real = realInside(d, roots);
			if (real && statSync(real).isDirectory()) return d;
		}
		return null;
	};
	if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'tree') {
		const d = repoDir(parts[2], parts[3]);
		if (!d) return false;
		const body = JSON.stringify(
			listFiles(d, '', roots).map((path) => ({
				type: 'file',
				path,
				size: statSync(join(d, path)).size
			}))
		);
		res.writeHead(200, {
			'Content-Type': 'application/json; charset=utf-8',
			'Cache-Control': 'no-cache',
			...cors
		});
		res.end(req.method === 'HEAD' ? undefined : body);
		return true;
	}
	if (parts[2] === 'resolve' && parts.length >= 5) {
		const d = repoDir(parts[0], parts[1]);
		const file = d ? servableFile(d, parts.slice(4).join('/'), roots) : null;
		if (file === null || file.endsWith('.part')) return false;
		sendFile(req, res, file, 'no-cache', cors);
		return true;
	}
	return false;
}

/**
 * The studio's static server. `modelsDir` is served as plain files at /models/; `hubDirs` (folders
 * of `{owner}/{name}/` model or adapter folders) in the hub's layout at /hub/. With `tls`
 * ({ cert, key } contents) it serves https. Only regular files whose real path is inside the
 * given folders are served, never dotfiles. CORS: none by default (the studio it serves is on the
 * same origin); `corsOrigins` lists studio origins elsewhere that may use it as a mirror.
 * @param {{ root?: string, modelsDir?: string, hubDirs?: string[], tls?: { cert: string | Buffer, key: string | Buffer }, corsOrigins?: string[] }} [options]
 */
export function createStudioServer({
	root = 'build',
	modelsDir,
	hubDirs = [],
	tls,
	corsOrigins = []
} = {}) {
	const rootDir = resolve(root);
	const rootReal = realRoots([rootDir]);
	const models = modelsDir ? resolve(modelsDir) : null;
	const modelsReal = models ? realRoots([models]) : [];
	const hubs = hubDirs.map((d) => resolve(d));
	const handler = (req, res) => {
		const url = new URL(req.url ?? '/', 'http://localhost');
		const cors = corsHeaders(req, corsOrigins);
		if (req.method === 'OPTIONS') {
			// CORS preflight of a Range request from an allowed studio origin (a mirror)
			res
				.writeHead(204, {
					...cors,
					...(cors['Access-Control-Allow-Origin']
						? {
								'Access-Control-Allow-Methods': 'GET, HEAD',
								'Access-Control-Allow-Headers': 'Range'
							}
						: {})
				})
				.end();
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			res.writeHead(405, { Allow: 'GET, HEAD, OPTIONS' }).end();
			return;
		}
		if (models && url.pathname.startsWith('/models/')) {
			const file = servableFile(models, url.pathname.slice('/models/'.length), modelsReal);
			if (file) return sendFile(req, res, file, 'no-cache', cors);
			res.writeHead(404).end('not found');
			return;
		}
		if (hubs.length && url.pathname.startsWith('/hub/')) {
			if (serveHubLayout(req, res, hubs, url.pathname.slice('/hub/'.length), cors)) return;
			res.writeHead(404, cors).end('not found');
			return;
		}
		let file = realInside(inside(rootDir, url.pathname), rootReal);
		if (file && statSync(file).isDirectory()) file = realInside(join(file, 'index.html'), rootReal);
		if (!isFile(file)) file = join(rootDir, 'index.html'); // SPA fallback
		const immutable = url.pathname.startsWith('/_app/immutable/');
		sendCompressed(req, res, file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
	};
	return tls ? createHttpsServer(tls, handler) : createServer(handler);
}

/** `--name value` from an argument list. */
export function option(args, name, fallback) {
	const i = args.indexOf(`--${name}`);
	return i >= 0 ? args[i + 1] : fallback;
}

function main() {
	const args = process.argv.slice(2);
	const port = Number(option(args, 'port', process.env.PORT ?? 4173));
	const host = option(args, 'host', '127.0.0.1');
	const root = resolve(option(args, 'root', 'build'));
	const modelsDir = option(args, 'models', undefined);
	if (!existsSync(join(root, 'index.html'))) {
		console.error(`serve: ${root}/index.html not found — run \`npm run build\` first.`);
		process.exit(1);
	}
	createStudioServer({ root, modelsDir }).listen(port, host, () => {
		console.log(`Mondō Studio is at http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/`);
		if (modelsDir) console.log(`Serving model folders from ${resolve(modelsDir)} at /models/`);
	});
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
