/**
 * Issue 12 · the classroom server as a teacher runs it: nothing outside the given folders (a
 * symlink to /etc/passwd), no dotfiles, no encoded `..`, no CORS for other origins — asked by a
 * real browser page on another origin and by plain requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';

const REPO = 'test-org/tiny-gemma2-mlc';
let server: ChildProcess;
let output = '';
let origin = '';
let dir = '';

test.beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'classroom-hostile-'));
	const repo = join(dir, REPO);
	cpSync(join('fixtures/hub', REPO, 'resolve/main'), repo, { recursive: true });
	symlinkSync('/etc/passwd', join(repo, 'passwd'));
	symlinkSync('/etc', join(repo, 'etc'));
	writeFileSync(join(repo, '.env'), 'SECRET=do-not-serve');
	mkdirSync(join(repo, '.git'));
	writeFileSync(join(repo, '.git', 'config'), '[remote] do-not-serve');
	server = spawn(
		process.execPath,
		['scripts/classroom.mjs', '--models', dir, '--host', '127.0.0.1', '--port', '0'],
		{ stdio: ['ignore', 'pipe', 'pipe'] }
	);
	server.stdout!.on('data', (d) => (output += d));
	server.stderr!.on('data', (d) => (output += d));
	await expect
		.poll(() => /Students open:\s+(\S+)/.exec(output)?.[1] ?? '', { timeout: 15_000 })
		.not.toBe('');
	origin = new URL(/Students open:\s+(\S+)/.exec(output)![1]).origin;
});

test.afterAll(() => {
	server?.kill();
	rmSync(dir, { recursive: true, force: true });
});

test('says where it listens and who can reach it', () => {
	expect(output).toMatch(/Listening on 127\.0\.0\.1:\d+ — loopback only: only this machine/);
	expect(output).toContain('CORS): none');
});

test('refuses links out, dotfiles and encoded .. ; lists only what it serves', async ({
	request
}) => {
	const hub = `${origin}/hub/${REPO}/resolve/main`;
	for (const path of [
		'passwd',
		'etc/passwd',
		'etc/hostname',
		'.env',
		'.git/config',
		'%2Eenv',
		'..%2F..%2F..%2F..%2Fetc%2Fpasswd',
		'%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd'
	]) {
		const r = await request.get(`${hub}/${path}`);
		expect(r.status(), path).toBe(404);
		const body = await r.text();
		expect(body, path).not.toContain('root:');
		expect(body, path).not.toContain('do-not-serve');
	}
	expect((await request.get(`${hub}/tokenizer.json`)).status()).toBe(200);
	const list = (await (await request.get(`${origin}/hub/api/models/${REPO}/tree/main`)).json()) as {
		path: string;
	}[];
	const paths = list.map((e) => e.path);
	expect(paths).toContain('tokenizer.json');
	expect(paths.filter((p) => /passwd|^etc\/|(^|\/)\./.test(p))).toEqual([]);
});

test('a page on another origin cannot read its files (no CORS by default)', async ({ page }) => {
	await page.goto('/'); // the studio under test, on another port = another origin
	const result = await page.evaluate(async (url) => {
		try {
			await (await fetch(url)).text();
			return 'read';
		} catch {
			return 'blocked';
		}
	}, `${origin}/hub/${REPO}/resolve/main/tokenizer.json`);
	expect(result).toBe('blocked');
});
