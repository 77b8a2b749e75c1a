/**
 * Issue 12 · adapter zips are read as a stream with their sizes checked as bytes come out of the
 * inflater: bombs are refused early naming the entry and the limit, damage names the entry.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { crc32, readZip, writeZip, ZipFormatError } from '../../src/lib/lora/zip';
import { concat, rawZip } from './zip-fixtures';

const enc = new TextEncoder();
// headroom on a loaded machine (inflating a few MiB); not a speed budget
vi.setConfig({ testTimeout: 30_000 });
/**
 * DEFLATE of `mib` MiB of zeros in ~1 KB per MiB: one flushed (non-final) segment for 1 MiB,
 * repeated — a full flush resets the compressor, so every segment is the same bytes — then the
 * final empty block.
 */
function zeroBomb(mib: number): Uint8Array {
	const segment = deflateRawSync(new Uint8Array(1 << 20), { finishFlush: constants.Z_FULL_FLUSH });
	return concat([...Array(mib).fill(segment), deflateRawSync(new Uint8Array(0))]);
}

const ONE_GIB = 1024;

/** Same names and bytes (Buffer comparison: a deep-equal over 70,000 elements is slow). */
function expectSame(got: { name: string; data: Uint8Array }[], want: typeof got) {
	expect(got.map((e) => e.name)).toEqual(want.map((e) => e.name));
	got.forEach((e, i) => expect(Buffer.from(e.data).equals(Buffer.from(want[i].data))).toBe(true));
}
const zeroCrc = (mib: number) => {
	let c = 0;
	const block = new Uint8Array(1 << 20);
	for (let i = 0; i < mib; i++) c = crc32(block, c);
	return c;
};

describe('zip bombs are refused as they inflate', () => {
	const bomb = zeroBomb(ONE_GIB);

	it('the bomb is about 1 MB that would inflate to 1 GiB', () => {
		expect(bomb.length).toBeLessThan(1.5e6);
	});

	it('a header that lies (declares 1 kB, inflates to 1 GiB): refused at the declared size, naming the entry', async () => {
		const zip = rawZip([
			{ name: 'adapter_model.safetensors', method: 8, payload: bomb, crc: 0, usize: 1000 }
		]);
		const err = await readZip(zip).catch((e) => e);
		expect(err).toBeInstanceOf(ZipFormatError);
		expect(err.message).toMatch(/adapter_model\.safetensors: inflates past the 1000 bytes/);
	});

	it('an honest header declaring 1 GiB: refused before a byte is inflated, naming the cap', async () => {
		const zip = rawZip([
			{ name: 'adapter_model.safetensors', method: 8, payload: bomb, crc: 0, usize: 2 ** 30 }
		]);
		const err = await readZip(zip).catch((e) => e);
		expect(err).toBeInstanceOf(ZipFormatError);
		expect(err.message).toMatch(/adapter_model\.safetensors: declares 1024 MiB.*at most 512 MiB/);
	});

	/** 64 MiB of zeros whose sizes and CRC follow the data (unknown while inflating). */
	const descriptorBomb = () =>
		rawZip([
			{
				name: 'adapter_model.safetensors',
				method: 8,
				payload: zeroBomb(64),
				crc: 0,
				usize: 0,
				descriptor: true
			}
		]);

	it('sizes in a data descriptor (unknown while inflating): the hard cap stops it', async () => {
		const zip = descriptorBomb();
		const err = await readZip(zip, { maxTotalBytes: 8 << 20 }).catch((e) => e);
		expect(err).toBeInstanceOf(ZipFormatError);
		expect(err.message).toMatch(/adapter_model\.safetensors: inflates past 8 MiB/);
	});

	it('sizes unknown and no cap in reach: the compression ratio gives the bomb away', async () => {
		const zip = descriptorBomb();
		await expect(readZip(zip)).rejects.toThrow(
			/adapter_model\.safetensors: inflates to more than 100× its compressed size .*: a zip bomb/
		);
	});

	it('the cap counts all entries together', async () => {
		const e = (name: string) => ({
			name,
			method: 8 as const,
			payload: zeroBomb(1),
			crc: zeroCrc(1),
			usize: 1 << 20
		});
		const zip = rawZip([e('a.bin'), e('b.bin'), e('c.bin')]);
		expect((await readZip(zip, { maxTotalBytes: 3 << 20 })).length).toBe(3);
		await expect(readZip(zip, { maxTotalBytes: (5 << 20) / 2 })).rejects.toThrow(
			/c\.bin: declares/
		);
	});
});

describe('damaged archives name the entry', () => {
	const data = enc.encode('{"peft_type": "LORA"}'.repeat(50));
	const good = deflateRawSync(data);

	it('corrupt DEFLATE data', async () => {
		const bad = good.slice();
		bad[0] = 0xff; // invalid block type 3
		const zip = rawZip([
			{ name: 'adapter_config.json', method: 8, payload: bad, crc: crc32(data), usize: data.length }
		]);
		await expect(readZip(zip)).rejects.toThrow(
			/zip: adapter_config\.json: corrupt compressed data/
		);
	});

	it('a CRC mismatch (STORE)', async () => {
		const zip = rawZip([
			{ name: 'adapter_config.json', method: 0, payload: data, crc: 1234, usize: data.length }
		]);
		await expect(readZip(zip)).rejects.toThrow(/adapter_config\.json: CRC mismatch/);
	});

	it('a truncated archive', async () => {
		const zip = writeZip([{ name: 'adapter_model.safetensors', data: new Uint8Array(5000) }]);
		await expect(readZip(zip.subarray(0, 2000))).rejects.toThrow(
			/adapter_model\.safetensors: truncated/
		);
	});

	it('not a zip at all', async () => {
		await expect(readZip(enc.encode('hello, not a zip'))).rejects.toThrow(ZipFormatError);
		await expect(readZip(new Uint8Array(0))).rejects.toThrow(ZipFormatError);
	});

	it('an unsupported compression method', async () => {
		const zip = rawZip([{ name: 'x.bin', method: 12 as 8, payload: data, crc: 0, usize: 1 }]);
		await expect(readZip(zip)).rejects.toThrow(/x\.bin: compression method 12/);
	});
});

describe('archives as people make them', () => {
	const entries = [
		{ name: 'adapter/adapter_config.json', data: enc.encode('{"r": 8}') },
		{
			name: 'adapter/adapter_model.safetensors',
			data: new Uint8Array(70_000).map((_, i) => i % 251)
		}
	];

	it('round trip of our own writer, from bytes and from a stream', async () => {
		const zip = writeZip(entries);
		expectSame(await readZip(zip), entries);
		expectSame(await readZip(new Blob([zip as BlobPart]).stream()), entries);
	});

	it('data descriptors (what a streaming zipper writes) are read', async () => {
		const zip = rawZip(
			entries.map((e) => ({
				name: e.name,
				method: 8 as const,
				payload: deflateRawSync(e.data),
				crc: crc32(e.data),
				usize: e.data.length,
				descriptor: true
			}))
		);
		expectSame(await readZip(zip), entries);
	});

	it.skipIf(!hasZipTool())('the zip command line tool’s DEFLATE archive of a folder', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'zip-'));
		mkdirSync(join(dir, 'adapter'));
		for (const e of entries) writeFileSync(join(dir, e.name), e.data);
		execFileSync('zip', ['-qr', 'a.zip', 'adapter'], { cwd: dir });
		const read = await readZip(new Uint8Array(readFileSync(join(dir, 'a.zip'))));
		// the directory entry is skipped; the tool writes the files in directory order
		expectSame(
			read.sort((a, b) => a.name.localeCompare(b.name)),
			entries
		);
	});
});

function hasZipTool(): boolean {
	try {
		execFileSync('zip', ['-v'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}
