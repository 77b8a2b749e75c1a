/**
 * Issue 12 · the classroom server serves only regular files whose real path is inside the folders
 * it was given, never dotfiles, answers no CORS unless told, and says who can reach it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reachability } from '../../scripts/classroom.mjs';
import { createStudioServer } from '../../scripts/serve.mjs';
import { listenLocal } from './local-server';

let dir = '';
let server: Server;
let base = '';
const SECRET = 'root:x:0:0 do not serve';

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'classroom-hostile-'));
	mkdirSync(join(dir, 'build'));
	writeFileSync(join(dir, 'build', 'index.html'), '<!doctype html><title>studio</title>');
	writeFileSync(join(dir, 'build', '.env'), SECRET);
	const repo = join(dir, 'models', 'org', 'model');
	mkdirSync(join(repo, '.git'), { recursive: true });
	writeFileSync(join(repo, 'config.json'), '{"a":1}');
	writeFileSync(join(repo, '.env'), SECRET);
	writeFileSync(join(repo, '.git', 'config'), SECRET);
	// outside the folders: an "/etc" with a passwd
	mkdirSync(join(dir, 'etc'));
	writeFileSync(join(dir, 'etc', 'passwd'), SECRET);
	symlinkSync(join(dir, 'etc', 'passwd'), join(repo, 'passwd'));
	symlinkSync(join(dir, 'etc'), join(repo, 'etc'));
	symlinkSync('/etc/passwd', join(repo, 'real-passwd'));
	// inside: an HF-cache-like blob reached through a symlink, and a loop
	mkdirSync(join(dir, 'models', 'org', 'blobs'));
	writeFileSync(join(dir, 'models', 'org', 'blobs', 'abc123'), 'blob bytes');
	symlinkSync(join('..', 'blobs', 'abc123'), join(repo, 'model.safetensors'));
	symlinkSync(repo, join(repo, 'loop'));
	// a whole repo folder that is a link out of the folders
	symlinkSync(join(dir, 'etc'), join(dir, 'models', 'org', 'escape'));
	server = createStudioServer({
		root: join(dir, 'build'),
		modelsDir: join(dir, 'models'),
		hubDirs: [join(dir, 'models')]
	});
	base = await listenLocal(server);
});

afterAll(async () => {
	await new Promise<void>((ok) => server.close(() => ok()));
	rmSync(dir, { recursive: true, force: true });
});

const body = async (path: string, init?: RequestInit) => {
	const r = await fetch(`${base}${path}`, init);
	return { status: r.status, text: await r.text(), headers: r.headers };
};

describe('classroom server refusals', () => {
	it('a symlink to a file outside the folders (an /etc/passwd) is not served', async () => {
		for (const path of [
			'/hub/org/model/resolve/main/passwd',
			'/hub/org/model/resolve/main/real-passwd',
			'/hub/org/model/resolve/main/etc/passwd',
			'/hub/org/escape/resolve/main/passwd',
			'/models/org/model/passwd',
			'/models/org/model/etc/passwd',
			'/models/org/model/real-passwd'
		]) {
			const r = await body(path);
			expect(r.status, path).toBe(404);
			expect(r.text, path).not.toContain('root:x');
		}
	});

	it('dotfiles are never served, by /resolve/, /models/ or the static root', async () => {
		for (const path of [
			'/hub/org/model/resolve/main/.env',
			'/hub/org/model/resolve/main/.git/config',
			'/hub/org/model/resolve/main/%2Eenv',
			'/hub/org/model/resolve/main/.git%2Fconfig',
			'/models/org/model/.env',
			'/models/org/model/.git/config',
			'/.env',
			'/%2Eenv'
		]) {
			const r = await body(path);
			expect(r.text, path).not.toContain('do not serve');
		}
	});

	it('encoded .. in every form stays inside', async () => {
		for (const path of [
			'/hub/org/model/resolve/main/..%2F..%2F..%2Fetc%2Fpasswd',
			'/hub/org/model/resolve/main/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
			'/hub/org/model/resolve/main/..%5C..%5C..%5Cetc%5Cpasswd',
			'/hub/org/model/resolve/main/%252E%252E%252Fetc',
			'/models/..%2Fetc%2Fpasswd',
			'/models/%2E%2E/etc/passwd',
			'/hub/org/model/resolve/main/config.json%00.txt'
		]) {
			const r = await body(path);
			expect(r.text, path).not.toContain('root:x');
		}
	});

	it('the listing shows only regular files inside: no dotfiles, no links out, a loop once', async () => {
		const list = (await (await fetch(`${base}/hub/api/models/org/model/tree/main`)).json()) as {
			path: string;
		}[];
		const paths = list.map((e) => e.path).sort();
		expect(paths).toContain('config.json');
		expect(paths).toContain('model.safetensors');
		for (const p of paths) {
			expect(p).not.toMatch(/(^|\/)\./);
			expect(p).not.toMatch(/passwd/);
		}
		expect((await fetch(`${base}/hub/api/models/org/escape/tree/main`)).status).toBe(404);
	});

	it('symlinks that resolve inside the folders are served (a Hugging Face cache is made of them)', async () => {
		expect((await body('/hub/org/model/resolve/main/model.safetensors')).text).toBe('blob bytes');
		expect((await body('/models/org/model/model.safetensors')).text).toBe('blob bytes');
	});

	it('no CORS headers by default, not even for a foreign Origin', async () => {
		const r = await body('/hub/org/model/resolve/main/config.json', {
			headers: { Origin: 'https://evil.example' }
		});
		expect(r.status).toBe(200);
		expect(r.headers.get('access-control-allow-origin')).toBeNull();
	});
});

describe('CORS only for the studio origins it is told', () => {
	it('echoes an allowed origin, nothing for others', async () => {
		const s = createStudioServer({
			root: join(dir, 'build'),
			hubDirs: [join(dir, 'models')],
			corsOrigins: ['https://studio.example']
		});
		await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
		const a = s.address();
		const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hub/org/model/resolve/main/config.json`;
		try {
			const ok = await fetch(url, { headers: { Origin: 'https://studio.example' } });
			expect(ok.headers.get('access-control-allow-origin')).toBe('https://studio.example');
			const no = await fetch(url, { headers: { Origin: 'https://evil.example' } });
			expect(no.headers.get('access-control-allow-origin')).toBeNull();
		} finally {
			await new Promise<void>((ok) => s.close(() => ok()));
		}
	});
});

describe('who can reach it', () => {
	it('says so for every interface, loopback, and a given address', () => {
		expect(reachability('0.0.0.0', 8080, ['192.168.1.20'])).toMatch(
			/0\.0\.0\.0:8080 — every interface: any machine on this network can reach it \(192\.168\.1\.20\)/
		);
		expect(reachability('127.0.0.1', 8080, [])).toMatch(/loopback only: only this machine/);
		expect(reachability('192.168.1.20', 8080, [])).toMatch(/192\.168\.1\.20/);
	});

	it('prints it on start', async () => {
		const out = await new Promise<string>((ok, fail) => {
			const p = spawn(
				process.execPath,
				[
					'scripts/classroom.mjs',
					'--models',
					join(dir, 'models'),
					'--root',
					join(dir, 'build'),
					'--host',
					'127.0.0.1',
					'--port',
					'0'
				],
				{ stdio: ['ignore', 'pipe', 'pipe'] }
			);
			let text = '';
			p.stdout.on('data', (d) => {
				text += d;
				if (text.includes('Students open')) {
					p.kill();
					ok(text);
				}
			});
			p.stderr.on('data', (d) => (text += d));
			p.on('exit', () => fail(new Error(text)));
			setTimeout(() => p.kill(), 15_000);
		});
		expect(out).toMatch(/Listening on 127\.0\.0\.1:\d+ — loopback only/);
		expect(out).toMatch(/CORS\): none/);
	});
});
