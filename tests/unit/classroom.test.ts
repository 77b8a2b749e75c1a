/** The classroom server's pieces: hub layout over local folders, path safety, LAN addresses. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classroomUrl, lanAddresses, repoFolders } from '../../scripts/classroom.mjs';
import { createStudioServer } from '../../scripts/serve.mjs';
import { mirrorFromHash } from '../../src/lib/share/mirror';
import { listenLocal } from './local-server';

let dir = '';
let server: Server;
let base = '';

beforeAll(async () => {
	dir = mkdtempSync(join(tmpdir(), 'classroom-unit-'));
	mkdirSync(join(dir, 'build'));
	writeFileSync(join(dir, 'build', 'index.html'), '<!doctype html><title>studio</title>');
	mkdirSync(join(dir, 'models', 'org', 'model', 'sub'), { recursive: true });
	writeFileSync(join(dir, 'models', 'org', 'model', 'config.json'), '{"a":1}');
	writeFileSync(join(dir, 'models', 'org', 'model', 'sub', 'x.bin'), 'abcdef');
	writeFileSync(join(dir, 'models', 'org', 'model', 'big.bin.part'), 'partial');
	mkdirSync(join(dir, 'adapters', 'teacher', 'lora'), { recursive: true });
	writeFileSync(join(dir, 'adapters', 'teacher', 'lora', 'adapter_config.json'), '{}');
	writeFileSync(join(dir, 'secret.txt'), 'do not serve');
	server = createStudioServer({
		root: join(dir, 'build'),
		hubDirs: [join(dir, 'models'), join(dir, 'adapters')]
	});
	base = await listenLocal(server);
});

afterAll(async () => {
	await new Promise<void>((ok) => server.close(() => ok()));
	rmSync(dir, { recursive: true, force: true });
});

describe('classroom server', () => {
	it('serves model and adapter folders in the hub layout, any revision, with Range', async () => {
		const r = await fetch(`${base}/hub/org/model/resolve/main/config.json`);
		expect(r.status).toBe(200);
		expect(await r.text()).toBe('{"a":1}');
		const other = await fetch(`${base}/hub/org/model/resolve/v1.0/sub/x.bin`, {
			headers: { Range: 'bytes=2-' }
		});
		expect(other.status).toBe(206);
		expect(await other.text()).toBe('cdef');
		expect((await fetch(`${base}/hub/teacher/lora/resolve/main/adapter_config.json`)).status).toBe(
			200
		);
	});

	it('lists a repo like the hub API, without unfinished .part files', async () => {
		const list = await (await fetch(`${base}/hub/api/models/org/model/tree/main`)).json();
		expect(list).toEqual(
			expect.arrayContaining([
				{ type: 'file', path: 'config.json', size: 7 },
				{ type: 'file', path: 'sub/x.bin', size: 6 }
			])
		);
		expect(list.map((e: { path: string }) => e.path)).not.toContain('big.bin.part');
		expect((await fetch(`${base}/hub/org/model/resolve/main/big.bin.part`)).status).toBe(404);
	});

	it('never serves anything outside the folders', async () => {
		for (const path of [
			'/hub/org/model/resolve/main/..%2F..%2F..%2Fsecret.txt',
			'/hub/org/..%2F..%2F/resolve/main/secret.txt',
			'/hub/../secret.txt',
			'/hub/org/missing/resolve/main/config.json'
		]) {
			const r = await fetch(`${base}${path}`);
			expect(await r.text(), path).not.toContain('do not serve');
		}
		// everything else is the studio's SPA page
		expect(await (await fetch(`${base}/chat`)).text()).toContain('<title>studio</title>');
	});

	it('finds the owner/name folders, the LAN addresses, and builds the link the settings page reads', () => {
		expect(repoFolders(join(dir, 'models'))).toEqual(['org/model']);
		expect(
			lanAddresses({
				lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
				eth0: [
					{ address: '192.168.1.20', family: 'IPv4', internal: false },
					{ address: 'fe80::1', family: 'IPv6', internal: false }
				]
			})
		).toEqual(['192.168.1.20']);
		const url = new URL(classroomUrl('http://192.168.1.20:8080'));
		expect(mirrorFromHash(url.hash, url.origin)).toBe('http://192.168.1.20:8080/hub');
	});
});
