#!/usr/bin/env node
// The classroom server: the teacher's machine serves the built studio and local model / adapter
// folders in the Hugging Face hub's layout, so students' browsers load everything from it — no
// internet needed once the teacher has the files (node scripts/fetch-model.mjs).
//
//   node scripts/classroom.mjs --models DIR [--adapters DIR] [--port 8080] [--host 0.0.0.0]
//                              [--root build] [--tls-cert FILE --tls-key FILE] [--cors-origin ORIGIN]
//
// It listens on every interface by default (0.0.0.0: that is the feature — students' machines on
// the LAN), and says so on start; `--host 127.0.0.1` keeps it to this machine. Only regular files
// whose real path is inside the given folders are served (symlinks inside them are fine: a Hugging
// Face cache is made of them), never dotfiles. No CORS by default: the studio it serves is on the
// same origin; `--cors-origin https://studio.example` (repeatable) lets a studio hosted there use
// this server as its model mirror.
//
// DIR/{owner}/{name}/{files} is served at /hub/{owner}/{name}/resolve/{any revision}/{file} (and its
// listing at /hub/api/models/{owner}/{name}/tree/{rev}). It prints the addresses and a QR code that
// opens the studio's settings with this server proposed as the model mirror.
//
// Browsers give WebGPU, service workers and Cache Storage only to secure origins (https, or
// localhost). Over plain http on a LAN address students get none of them: serve https
// (--tls-cert/--tls-key, e.g. a certificate from mkcert whose CA the student machines trust) or let
// the machines treat this origin as secure (Chrome: chrome://flags/#unsafely-treat-insecure-origin-as-secure,
// or the OverrideSecurityRestrictionsOnInsecureOrigin policy).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStudioServer, option } from './serve.mjs';
import QRCode from 'qrcode';

/**
 * The machine's LAN IPv4 addresses (not loopback).
 * @param {Record<string, { address: string, family: string | number, internal: boolean }[] | undefined>} [interfaces]
 */
export function lanAddresses(interfaces = networkInterfaces()) {
	const out = [];
	for (const list of Object.values(interfaces))
		for (const a of list ?? [])
			if ((a.family === 'IPv4' || a.family === 4) && !a.internal) out.push(a.address);
	return out;
}

/**
 * Who can reach a server listening on `host`: one line for the start-up banner.
 * @param {string} host
 * @param {number} port
 * @param {string[]} lan the machine's LAN addresses
 */
export function reachability(host, port, lan) {
	if (host === '0.0.0.0' || host === '::')
		return (
			`Listening on ${host}:${port} — every interface: any machine on this network can reach it` +
			(lan.length ? ` (${lan.join(', ')})` : '') +
			'.\nUse --host 127.0.0.1 to keep it to this machine.'
		);
	if (/^(127\.|localhost$|::1$|\[::1\]$)/.test(host))
		return `Listening on ${host}:${port} — loopback only: only this machine can reach it.`;
	return `Listening on ${host}:${port} — machines that can reach ${host} on its network can use it.`;
}

/** `--name value` for every occurrence of a repeatable option (comma-separated lists too). */
export function optionList(args, name) {
	const out = [];
	args.forEach((a, i) => {
		if (a === `--${name}` && args[i + 1]) out.push(...args[i + 1].split(',').filter(Boolean));
	});
	return out;
}

/** `/settings#mirror=…`: the link a student opens (must match src/lib/share/mirror.ts). */
export function classroomUrl(origin) {
	return `${origin}/settings#mirror=${encodeURIComponent(`${origin}/hub`)}`;
}

/** The `{owner}/{name}` folders found under a models or adapters folder. */
export function repoFolders(dir) {
	const out = [];
	if (!existsSync(dir)) return out;
	for (const owner of readdirSync(dir)) {
		const o = join(dir, owner);
		if (owner.startsWith('.') || !statSync(o).isDirectory()) continue;
		for (const name of readdirSync(o))
			if (!name.startsWith('.') && statSync(join(o, name)).isDirectory())
				out.push(`${owner}/${name}`);
	}
	return out;
}

function main() {
	const args = process.argv.slice(2);
	const modelsDir = option(args, 'models');
	const adaptersDir = option(args, 'adapters');
	const port = Number(option(args, 'port', 8080));
	const host = option(args, 'host', '0.0.0.0');
	const root = resolve(option(args, 'root', 'build'));
	const certFile = option(args, 'tls-cert');
	const keyFile = option(args, 'tls-key');
	if (!modelsDir) {
		console.error(
			'usage: node scripts/classroom.mjs --models DIR [--adapters DIR] [--port 8080] [--host 0.0.0.0] [--tls-cert FILE --tls-key FILE] [--cors-origin ORIGIN]'
		);
		process.exit(2);
	}
	if (!existsSync(join(root, 'index.html'))) {
		console.error(`classroom: ${root}/index.html not found — run \`npm run build\` first.`);
		process.exit(1);
	}
	for (const d of [modelsDir, adaptersDir].filter(Boolean))
		if (!existsSync(d)) {
			console.error(`classroom: ${resolve(d)} does not exist.`);
			process.exit(1);
		}
	if (Boolean(certFile) !== Boolean(keyFile)) {
		console.error('classroom: give both --tls-cert and --tls-key.');
		process.exit(2);
	}
	const tls = certFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
	const scheme = tls ? 'https' : 'http';
	const hubDirs = [modelsDir, adaptersDir].filter(Boolean);
	const corsOrigins = optionList(args, 'cors-origin');
	const server = createStudioServer({ root, hubDirs, tls, corsOrigins });
	server.on('error', (e) => {
		console.error(`classroom: ${e.message}`);
		process.exit(1);
	});
	server.listen(port, host, () => {
		const actualPort = server.address().port;
		const hosts = host === '0.0.0.0' || host === '::' ? lanAddresses() : [host];
		if (hosts.length === 0) hosts.push('127.0.0.1');
		const origins = hosts.map((h) => `${scheme}://${h}:${actualPort}`);
		console.log('Mondō Studio classroom server\n');
		console.log(reachability(host, actualPort, lanAddresses()));
		console.log(
			corsOrigins.length
				? `Cross-origin access (CORS) allowed for: ${corsOrigins.join(', ')}\n`
				: 'Cross-origin access (CORS): none — the studio is served from this same origin.\n'
		);
		for (const d of hubDirs) {
			const repos = repoFolders(resolve(d));
			console.log(`${resolve(d)}: ${repos.length ? repos.join(', ') : '(no owner/name folders)'}`);
		}
		console.log('\nStudents open:');
		for (const o of origins) console.log(`  ${classroomUrl(o)}`);
		console.log(`\nModel mirror (Settings → Model mirror): ${origins[0]}/hub\n`);
		// light modules as blocks (a dark terminal); the callback form runs synchronously
		const qrOptions = { type: 'utf8', errorCorrectionLevel: 'L', margin: 2 };
		const invert = { color: { dark: '#ffffff', light: '#000000' } };
		QRCode.toString(classroomUrl(origins[0]), { ...qrOptions, ...invert }, (e, qr) =>
			console.log(e ? `(no QR code: ${e.message})` : qr)
		);
		const loopbackOnly = hosts.every((h) => h === '127.0.0.1' || h === 'localhost');
		if (!tls && !loopbackOnly)
			console.log(
				'\nNote: over plain http on a LAN address browsers withhold WebGPU, service workers and Cache Storage.\n' +
					'Serve https (--tls-cert/--tls-key) or mark this origin as secure on student machines\n' +
					`(chrome://flags/#unsafely-treat-insecure-origin-as-secure → ${origins.join(',')}).`
			);
	});
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
