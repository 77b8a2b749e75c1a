#!/usr/bin/env node
// Serves the built static studio (build/) with the SPA fallback, and optionally local model
// folders under /models/ (Range requests supported, so resumable downloads work the same as from
// the hub). Used by `npm start`, the e2e tests and the classroom server.
//
//   node scripts/serve.mjs [--port 4173] [--host 127.0.0.1] [--root build] [--models DIR]
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
	const i = args.indexOf(`--${name}`);
	return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(opt('port', process.env.PORT ?? 4173));
const host = opt('host', '127.0.0.1');
const root = resolve(opt('root', 'build'));
const modelsDir = opt('models', undefined);

const types = {
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

/** Resolve a URL path inside a folder, refusing anything that escapes it. */
function inside(dir, urlPath) {
	const p = normalize(join(dir, decodeURIComponent(urlPath)));
	return p === dir || p.startsWith(dir + sep) ? p : null;
}

function sendFile(req, res, file, cache) {
	const { size } = statSync(file);
	const headers = {
		'Content-Type': types[extname(file)] ?? 'application/octet-stream',
		'Accept-Ranges': 'bytes',
		'Cache-Control': cache,
		'Cross-Origin-Opener-Policy': 'same-origin',
		'Access-Control-Allow-Origin': '*'
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

const server = createServer((req, res) => {
	const url = new URL(req.url ?? '/', 'http://localhost');
	if (modelsDir && url.pathname.startsWith('/models/')) {
		const file = inside(resolve(modelsDir), url.pathname.slice('/models/'.length));
		if (file && existsSync(file) && statSync(file).isFile())
			return sendFile(req, res, file, 'no-cache');
		res.writeHead(404).end('not found');
		return;
	}
	let file = inside(root, url.pathname);
	if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
	if (!file || !existsSync(file)) file = join(root, 'index.html'); // SPA fallback
	const immutable = url.pathname.startsWith('/_app/immutable/');
	sendFile(req, res, file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
});

if (!existsSync(join(root, 'index.html'))) {
	console.error(`serve: ${root}/index.html not found — run \`npm run build\` first.`);
	process.exit(1);
}
server.listen(port, host, () => {
	console.log(`Mondō Studio is at http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/`);
	if (modelsDir) console.log(`Serving model folders from ${resolve(modelsDir)} at /models/`);
});
