import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/lib/model/config';
import {
	filesFromFileList,
	filesFromMap,
	filesFromUrl,
	readJson,
	withPaths,
	type FileProgress
} from '../../src/lib/model/files';
import { formatSeconds } from '../../src/lib/ui/format';

/** A File as a folder picker gives it (node's File has no webkitRelativePath of its own). */
function picked(path: string, content: string | Uint8Array<ArrayBuffer>): File {
	const file = new File([content], path.split('/').pop()!);
	Object.defineProperty(file, 'webkitRelativePath', { value: path });
	return file;
}

describe('filesFromFileList (a picked or dropped folder)', () => {
	it('roots paths at the folder holding the config, ignoring files outside it', async () => {
		const files = filesFromFileList([
			picked('downloads/gemma/config.json', '{"a": 1}'),
			picked('downloads/gemma/model.safetensors', new Uint8Array([1, 2, 3])),
			picked('downloads/gemma/sub/notes.txt', 'x'),
			picked('downloads/other.txt', 'y')
		]);
		expect(files.describe).toBe('folder downloads/gemma');
		expect(await files.has('config.json')).toBe(true);
		expect(await files.has('sub/notes.txt')).toBe(true);
		expect(await files.has('other.txt')).toBe(false);
		expect(await readJson(files, 'config.json')).toEqual({ a: 1 });
		const progress: FileProgress[] = [];
		const bytes = await files.bytes('model.safetensors', (p) => progress.push(p));
		expect([...new Uint8Array(bytes)]).toEqual([1, 2, 3]);
		expect(progress[progress.length - 1]).toEqual({
			file: 'model.safetensors',
			loaded: 3,
			total: 3
		});
		await expect(files.bytes('model.safetensors', undefined, { size: 4 })).rejects.toThrow(
			'model.safetensors: truncated: 3 bytes, expected 4'
		);
		await expect(files.text('tokenizer.json')).rejects.toThrow(
			'tokenizer.json: file not found in folder downloads/gemma'
		);
	});

	it('takes dropped files (no relative path) by name', async () => {
		const files = filesFromFileList([
			new File(['{}'], 'mlc-chat-config.json'),
			new File(['z'], 'params_shard_0.bin')
		]);
		expect(await files.has('params_shard_0.bin')).toBe(true);
	});

	it('takes a dropped folder by the paths given beside its files (webkitRelativePath is empty)', async () => {
		const plain = [
			new File(['{"b": 2}'], 'config.json'),
			new File(['w'], 'a.bin'),
			new File(['?'], 'x')
		];
		const files = filesFromFileList(
			withPaths(plain, ['gemma/config.json', 'gemma/weights/a.bin', 'readme/x'])
		);
		expect(files.describe).toBe('folder gemma');
		expect(await readJson(files, 'config.json')).toEqual({ b: 2 });
		expect(await files.text('weights/a.bin')).toBe('w');
		expect(await files.has('x')).toBe(false);
		expect(() => withPaths(plain, ['one/path'])).toThrow('3 dropped files but 1 paths');
	});
});

describe('formatSeconds', () => {
	it('says seconds, then minutes and seconds; a dash when unknown', () => {
		expect(formatSeconds(42.4)).toBe('42 s');
		expect(formatSeconds(187)).toBe('3 min 7 s');
		expect(formatSeconds(null)).toBe('—');
		expect(formatSeconds(Infinity)).toBe('—');
	});
});

describe('filesFromMap and readJson', () => {
	it('names the file of broken JSON', async () => {
		const files = filesFromMap(new Map([['config.json', '{"hidden_size": 64,']]));
		const error = await readJson(files, 'config.json').catch((e) => e);
		expect(error).toBeInstanceOf(ModelFormatError);
		expect(error.message).toMatch(/^config\.json: not valid JSON/);
	});
});

describe('filesFromUrl (a served folder)', () => {
	it('fetches relative to the folder URL and checks Content-Length', async () => {
		const requested: string[] = [];
		const fakeFetch = async (input: RequestInfo | URL, init?: RequestInit) => {
			requested.push(`${init?.method ?? 'GET'} ${String(input)}`);
			if (String(input).endsWith('/missing.json')) return new Response('no', { status: 404 });
			const short = String(input).endsWith('/short.bin');
			return new Response(new Uint8Array([1, 2, 3]), {
				headers: { 'content-length': short ? '5' : '3' }
			});
		};
		const files = filesFromUrl('http://models.local/tiny folder', {
			fetch: fakeFetch as typeof fetch
		});
		expect(files.url!('a b/c.json')).toBe('http://models.local/tiny folder/a%20b/c.json');
		expect((await files.bytes('ok.bin')).byteLength).toBe(3);
		expect(await files.has('missing.json')).toBe(false);
		await expect(files.text('missing.json')).rejects.toThrow(
			'missing.json: file not found in http://models.local/tiny folder/'
		);
		await expect(files.bytes('short.bin')).rejects.toThrow(
			'short.bin: truncated download: 3 of 5 bytes'
		);
		expect(requested[0]).toBe('GET http://models.local/tiny folder/ok.bin');
	});
});
