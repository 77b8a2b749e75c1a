import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { fetchModel } from '../../scripts/fetch-model.mjs';

const REPO = 'test-org/tiny-gemma2-mlc';
let server: ChildProcess;
let output = '';
let studentUrl = '';
let origin = '';
let modelsDir = '';

test.beforeAll(async () => {
	// the teacher's folder: DIR/{owner}/{name}/{files}
	modelsDir = mkdtempSync(join(tmpdir(), 'classroom-'));
	cpSync(join('fixtures/hub', REPO, 'resolve/main'), join(modelsDir, REPO), { recursive: true });
	server = spawn(
		process.execPath,
		['scripts/classroom.mjs', '--models', modelsDir, '--host', '127.0.0.1', '--port', '0'],
		{
			stdio: ['ignore', 'pipe', 'pipe']
		}
	);
	server.stdout!.on('data', (d) => (output += d));
	server.stderr!.on('data', (d) => (output += d));
	await expect
		.poll(() => /Students open:\s+(\S+)/.exec(output)?.[1] ?? '', { timeout: 15_000 })
		.not.toBe('');
	await expect.poll(() => output.includes('█'), { timeout: 5_000 }).toBe(true);
	studentUrl = /Students open:\s+(\S+)/.exec(output)![1];
	origin = new URL(studentUrl).origin;
});

test.afterAll(() => {
	server?.kill();
	rmSync(modelsDir, { recursive: true, force: true });
});

test('the classroom server prints the address, a QR code and its models', () => {
	expect(studentUrl).toBe(`${origin}/settings#mirror=${encodeURIComponent(`${origin}/hub`)}`);
	expect(output).toContain(REPO);
	const qrLines = output.split('\n').filter((l) => /^[█▀▄ ]{20,}$/.test(l));
	expect(qrLines.length).toBeGreaterThan(10);
	// loopback only: no warning about insecure LAN origins
	expect(output).not.toContain('withhold WebGPU');
});

test('a student opens the printed link, accepts the mirror, and loads the model from the teacher', async ({
	page
}) => {
	const requests: string[] = [];
	page.on('request', (r) => requests.push(r.url()));
	await page.goto(studentUrl);
	await expect(page.getByTestId('mirror-proposal')).toContainText(`${origin}/hub`);
	// nothing is applied before the student says yes
	await expect(page.getByTestId('mirror-current')).toHaveText('https://huggingface.co');
	await page.getByTestId('mirror-accept').click();
	await expect(page.getByTestId('mirror-current')).toHaveText(`${origin}/hub`);

	await page.goto(`${origin}/chat`);
	await page.locator('#repo').fill(REPO);
	await page.locator('#rev').fill('main');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText(REPO, { timeout: 240_000 });
	expect(requests.every((u) => new URL(u).origin === origin || u.startsWith('data:'))).toBe(true);
	expect(requests.some((u) => u.startsWith(`${origin}/hub/${REPO}/resolve/main/`))).toBe(true);
});

test('another teacher copies the models from a classroom server with fetch-model', async () => {
	const to = mkdtempSync(join(tmpdir(), 'classroom-copy-'));
	try {
		const result = await fetchModel({ repo: REPO, to, base: `${origin}/hub`, token: undefined });
		expect(result.files).toContain('tensor-cache.json');
		expect(readFileSync(join(to, REPO, 'tokenizer.json'))).toEqual(
			readFileSync(join(modelsDir, REPO, 'tokenizer.json'))
		);
	} finally {
		rmSync(to, { recursive: true, force: true });
	}
});
