/**
 * Issue 12 · every remote read of the studio's own (shared adapters, hub adapter imports, https
 * PEFT folders) is streamed with a byte cap and a deadline; errors name the URL and the limit.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteReadError, remoteBytes, remoteText } from '../../src/lib/net/remote-read';
import { downloadSharedAdapter, inspectSharedAdapter } from '../../src/lib/share/adapter-check';
import { ShareLinkError } from '../../src/lib/share/sources';
import { filesFromUrl } from '../../src/lib/model/files';
import { ModelFormatError } from '../../src/lib/model/config';
import { listenLocal } from './local-server';

let server: Server;
let base = '';
let bytesSent = 0;

beforeAll(async () => {
	server = createServer((req, res) => {
		if (req.url === '/endless') {
			// streams for ever (1 GB and more) and declares nothing
			res.writeHead(200);
			const chunk = Buffer.alloc(64 * 1024, 1);
			const pump = () => {
				while (res.write(chunk)) {
					bytesSent += chunk.length;
					if (bytesSent > 2 ** 30) return res.end();
				}
				res.once('drain', pump);
			};
			res.on('close', () => res.removeAllListeners('drain'));
			return pump();
		}
		if (req.url === '/silent') return; // never answers
		if (req.url === '/slow-body') {
			res.writeHead(200);
			res.write('{');
			return; // and then nothing
		}
		if (req.url === '/bom.json') {
			res.writeHead(200);
			return res.end('\ufeff{"peft_type": "LORA"}');
		}
		res.writeHead(404).end();
	});
	base = await listenLocal(server);
});

afterAll(async () => {
	server.closeAllConnections();
	await new Promise<void>((ok) => server.close(() => ok()));
});

describe('bounded remote reads', () => {
	it('a host streaming 1 GB is cut off at the cap, naming URL and cap', async () => {
		bytesSent = 0;
		const err = await remoteBytes(`${base}/endless`, { maxBytes: 1 << 20 }).catch((e) => e);
		expect(err).toBeInstanceOf(RemoteReadError);
		expect(err.reason).toBe('cap');
		expect(err.message).toBe(`${base}/endless sent more than the 1048576 bytes allowed`);
		expect(bytesSent).toBeLessThan(2 ** 30);
	});

	it('a host that never answers times out, naming URL and time', async () => {
		const err = await remoteBytes(`${base}/silent`, { maxBytes: 1000, timeoutMs: 300 }).catch(
			(e) => e
		);
		expect(err).toBeInstanceOf(RemoteReadError);
		expect(err.message).toBe(`${base}/silent: no complete answer within 0.3 s`);
	});

	it('a body that stalls times out too', async () => {
		await expect(
			remoteBytes(`${base}/slow-body`, { maxBytes: 1000, timeoutMs: 300 })
		).rejects.toThrow(/slow-body: no complete answer within 0\.3 s/);
	});

	it('a fetch that ignores the abort signal is still given up at the deadline', async () => {
		const never = () => new Promise<Response>(() => {});
		await expect(
			remoteBytes('https://x.example/a', { maxBytes: 10, timeoutMs: 100, fetch: never })
		).rejects.toThrow(/x\.example\/a: no complete answer within 0\.1 s/);
	});

	it('404 and unreachable hosts name the URL', async () => {
		await expect(remoteBytes(`${base}/nothing`, { maxBytes: 10 })).rejects.toThrow(
			`${base}/nothing: not found (404)`
		);
		await expect(
			remoteBytes('http://127.0.0.1:9/x', { maxBytes: 10, timeoutMs: 5000 })
		).rejects.toThrow(/could not reach http:\/\/127\.0\.0\.1:9\/x/);
	});

	it('text drops a UTF-8 BOM', async () => {
		expect(await remoteText(`${base}/bom.json`, { maxBytes: 100 })).toBe('{"peft_type": "LORA"}');
	});

	it('a model folder over HTTP reads its text files through the same reader', async () => {
		const files = filesFromUrl(`${base}/`);
		expect(await files.text('bom.json')).toBe('{"peft_type": "LORA"}');
		await expect(files.text('config.json')).rejects.toThrow(/config\.json: file not found/);
		await expect(files.text('config.json')).rejects.toBeInstanceOf(ModelFormatError);
	});

	it('the share flow turns them into ShareLinkErrors on "adapter"', async () => {
		const err = await inspectSharedAdapter(
			{ kind: 'url', url: `${base}/silent-folder` },
			{ timeoutMs: 200, fetch: () => new Promise<Response>(() => {}) }
		).catch((e) => e);
		expect(err).toBeInstanceOf(ShareLinkError);
		expect(err.message).toMatch(/^adapter: .*no complete answer within 0\.2 s/);
		const endless = async (url: string) =>
			url.endsWith('.json') ? new Response('{}') : fetch(`${base}/endless`);
		await expect(
			downloadSharedAdapter(
				{ kind: 'url', url: 'https://h.example/a' },
				{
					fetch: endless,
					maxBytes: 1 << 20
				}
			)
		).rejects.toThrow(/sends more than the 1048576 bytes allowed for a shared adapter/);
	});
});
