#!/usr/bin/env node
// Downloads a Hugging Face hub repo (a model or a PEFT adapter) into a folder the classroom server
// serves: DIR/{owner}/{name}/{files}. Resumable (each file grows in `{file}.part`, continued with an
// HTTP Range request after an interruption), verified by size, by sha256 for LFS files (the hub's
// `lfs.oid`) and by the md5 sums of an MLC manifest (tensor-cache.json / ndarray-cache.json).
//
//   node scripts/fetch-model.mjs <owner/name> [--revision main] --to DIR [--base https://huggingface.co]
//
// HF_TOKEN (for gated repos) is sent to the base URL's host only.
import { createHash } from 'node:crypto';
import {
	createReadStream,
	createWriteStream,
	existsSync,
	mkdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class FetchModelError extends Error {}

const encodePath = (p) => p.split('/').map(encodeURIComponent).join('/');

/** sha256 or md5 of a file, as lowercase hex. */
function hashFile(path, algorithm) {
	return new Promise((ok, fail) => {
		const hash = createHash(algorithm);
		createReadStream(path)
			.on('data', (d) => hash.update(d))
			.on('error', fail)
			.on('end', () => ok(hash.digest('hex')));
	});
}

/** The repo's files from `{base}/api/models/{repo}/tree/{rev}` (recursive, following pagination). */
export async function listRepoFiles({ repo, revision, base, fetch: doFetch, headers }) {
	let next = `${base}/api/models/${encodePath(repo)}/tree/${encodeURIComponent(revision)}?recursive=true`;
	const files = [];
	while (next) {
		const response = await doFetch(next, { headers });
		if (!response.ok)
			throw new FetchModelError(`listing ${repo}@${revision}: HTTP ${response.status} for ${next}`);
		const entries = await response.json();
		if (!Array.isArray(entries))
			throw new FetchModelError(`listing ${repo}@${revision}: expected a JSON array from ${next}`);
		for (const e of entries) {
			if (e?.type !== 'file') continue;
			if (
				typeof e.path !== 'string' ||
				e.path.split('/').some((p) => p === '..' || p === '' || p.startsWith('.'))
			)
				continue; // never write outside the folder; skip .gitattributes and friends
			files.push({
				path: e.path,
				size: typeof e.size === 'number' ? e.size : null,
				sha256: typeof e.lfs?.oid === 'string' ? e.lfs.oid.replace(/^sha256:/, '') : null
			});
		}
		const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '');
		next = link ? new URL(link[1], next).href : null;
	}
	return files;
}

/**
 * One file, resumable: bytes already in `{dest}.part` are kept and the rest asked for with Range.
 * Returns the bytes that came over the network.
 */
async function downloadFile({ url, dest, size, fetch: doFetch, headers, onProgress }) {
	const part = `${dest}.part`;
	mkdirSync(dirname(dest), { recursive: true });
	let have = existsSync(part) ? statSync(part).size : 0;
	if (size !== null && have > size) {
		rmSync(part);
		have = 0;
	}
	const response = await doFetch(url, {
		headers: have > 0 ? { ...headers, Range: `bytes=${have}-` } : headers
	});
	if (response.status === 416 && size !== null && have === size) {
		await response.body?.cancel();
		return 0;
	}
	let append = false;
	if (have > 0 && response.status === 206) {
		const m = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
		if (m && Number(m[1]) === have) append = true;
	}
	if (!response.ok) throw new FetchModelError(`HTTP ${response.status} for ${url}`);
	if (!append && response.status !== 200) {
		await response.body?.cancel();
		throw new FetchModelError(`unexpected HTTP ${response.status} for ${url}`);
	}
	if (!append) have = 0;
	const out = createWriteStream(part, { flags: append ? 'a' : 'w' });
	let received = 0;
	try {
		for await (const chunk of response.body) {
			if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
			received += chunk.byteLength;
			onProgress?.(have + received);
		}
	} finally {
		await new Promise((r) => out.end(r));
	}
	return received;
}

/**
 * Download `repo@revision` from `base` into `{to}/{owner}/{name}/`. Files already complete are
 * checked and skipped; interrupted ones resume. Throws FetchModelError naming the file on a
 * mismatch (the bad file is removed so a new run downloads it again).
 */
export async function fetchModel({
	repo,
	revision = 'main',
	to,
	base = 'https://huggingface.co',
	fetch: doFetch = globalThis.fetch,
	token = process.env.HF_TOKEN,
	log = () => {}
}) {
	if (!REPO_ID.test(repo) || repo.includes('..'))
		throw new FetchModelError(`not a hub repo id (owner/name): ${JSON.stringify(repo)}`);
	base = base.replace(/\/+$/, '');
	const folder = join(resolve(to), ...repo.split('/'));
	const baseHost = new URL(base).host;
	const headersFor = (url) =>
		token && new URL(url).host === baseHost ? { Authorization: `Bearer ${token}` } : {};
	const files = await listRepoFiles({
		repo,
		revision,
		base,
		fetch: doFetch,
		headers: headersFor(base)
	});
	if (files.length === 0) throw new FetchModelError(`${repo}@${revision} has no files`);
	const result = { folder, files: [], downloadedBytes: 0, resumed: [] };
	for (const f of files) {
		const dest = join(folder, ...f.path.split('/'));
		const url = `${base}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(f.path)}`;
		const verify = async (path) => {
			const size = statSync(path).size;
			if (f.size !== null && size !== f.size) return `size ${size} bytes, the hub lists ${f.size}`;
			if (f.sha256 && (await hashFile(path, 'sha256')) !== f.sha256)
				return `sha256 does not match ${f.sha256}`;
			return null;
		};
		if (existsSync(dest) && (await verify(dest)) === null) {
			log(`✓ ${f.path} (already here)`);
			result.files.push(f.path);
			continue;
		}
		const partBefore = existsSync(`${dest}.part`) ? statSync(`${dest}.part`).size : 0;
		if (partBefore > 0) result.resumed.push(f.path);
		log(`↓ ${f.path}${partBefore ? ` (resuming at ${partBefore} bytes)` : ''}`);
		try {
			result.downloadedBytes += await downloadFile({
				url,
				dest,
				size: f.size,
				fetch: doFetch,
				headers: headersFor(url)
			});
		} catch (e) {
			const kept = existsSync(`${dest}.part`) ? statSync(`${dest}.part`).size : 0;
			throw new FetchModelError(
				`${f.path}: download interrupted (${e.message}); ${kept} bytes kept in ${dest}.part — run again to resume`
			);
		}
		const problem = await verify(`${dest}.part`);
		if (problem) {
			rmSync(`${dest}.part`);
			throw new FetchModelError(`${f.path}: ${problem} (removed; run again to download it anew)`);
		}
		renameSync(`${dest}.part`, dest);
		result.files.push(f.path);
	}
	// MLC manifests carry an md5 per shard: check them too.
	for (const manifest of ['tensor-cache.json', 'ndarray-cache.json']) {
		const path = join(folder, manifest);
		if (!existsSync(path)) continue;
		const records = JSON.parse(readFileSync(path, 'utf8')).records ?? [];
		for (const r of records) {
			if (typeof r.dataPath !== 'string' || typeof r.md5sum !== 'string') continue;
			const shard = join(folder, ...r.dataPath.split('/'));
			if (!existsSync(shard))
				throw new FetchModelError(`${r.dataPath}: listed in ${manifest} but missing`);
			if ((await hashFile(shard, 'md5')) !== r.md5sum.toLowerCase()) {
				rmSync(shard);
				throw new FetchModelError(
					`${r.dataPath}: md5 does not match ${manifest} (removed; run again)`
				);
			}
		}
	}
	return result;
}

async function main() {
	const args = process.argv.slice(2);
	const opt = (name, fallback) => {
		const i = args.indexOf(`--${name}`);
		return i >= 0 ? args[i + 1] : fallback;
	};
	const repo = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
	const to = opt('to');
	if (!repo || !to) {
		console.error(
			'usage: node scripts/fetch-model.mjs <owner/name> [--revision main] --to DIR [--base https://huggingface.co]'
		);
		process.exit(2);
	}
	try {
		const r = await fetchModel({
			repo,
			revision: opt('revision', 'main'),
			to,
			base: opt('base', process.env.HF_ENDPOINT ?? 'https://huggingface.co'),
			log: (line) => console.log(line)
		});
		console.log(
			`${repo}: ${r.files.length} files in ${r.folder} (${(r.downloadedBytes / 1e6).toFixed(1)} MB downloaded)`
		);
		console.log(`Serve it to a classroom: node scripts/classroom.mjs --models ${to}`);
	} catch (e) {
		console.error(`fetch-model: ${e.message}`);
		process.exit(1);
	}
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
