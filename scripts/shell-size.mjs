#!/usr/bin/env node
// The app shell a first visit downloads and the service worker precaches (the page, the built files
// under _app/immutable/ and the static files, less runtime assets: src/lib/shell/precache.js), in
// bytes raw and gzipped (what serve.mjs and the classroom server send). Run after a build:
//
//   node scripts/shell-size.mjs [--root build] [--json]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isShellFile } from '../src/lib/shell/precache.js';

/** Every file under a folder, as paths relative to `root` with '/' separators. */
function walk(root, dir) {
	const out = [];
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const p = join(dir, entry.name);
		if (entry.isDirectory()) out.push(...walk(root, p));
		else if (entry.isFile()) out.push(relative(root, p).split(sep).join('/'));
	}
	return out;
}

/**
 * The shell's files with their raw and gzipped sizes, and what is left out.
 * @param {string} root the build folder
 * @param {string} [staticDir] the static folder whose files the build copies to its root
 */
export function shellManifest(root, staticDir = 'static') {
	const rootDir = resolve(root);
	const built = walk(rootDir, join(rootDir, '_app', 'immutable')).map((p) => `/${p}`);
	const statics = walk(resolve(staticDir), resolve(staticDir)).map((p) => `/${p}`);
	const size = (path) => {
		const file = join(rootDir, path === '/' ? 'index.html' : path.slice(1));
		return { raw: statSync(file).size, gzip: gzipSync(readFileSync(file), { level: 9 }).length };
	};
	const all = ['/', ...built, ...statics];
	const files = all.filter(isShellFile).map((path) => ({ path, ...size(path) }));
	const left = all.filter((p) => !isShellFile(p)).map((path) => ({ path, ...size(path) }));
	const sum = (list, key) => list.reduce((a, f) => a + f[key], 0);
	return { files, left, raw: sum(files, 'raw'), gzip: sum(files, 'gzip') };
}

const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;

function main() {
	const args = process.argv.slice(2);
	const i = args.indexOf('--root');
	const manifest = shellManifest(i >= 0 ? args[i + 1] : 'build');
	if (args.includes('--json')) return console.log(JSON.stringify(manifest, null, 1));
	console.log(
		`App shell (precached by the service worker): ${manifest.files.length} files, ` +
			`${mib(manifest.raw)} raw, ${mib(manifest.gzip)} gzipped (${manifest.raw} / ${manifest.gzip} bytes)`
	);
	for (const f of manifest.left)
		console.log(`  not precached (runtime asset): ${f.path} ${mib(f.raw)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
