/**
 * A minimal zip container for adapter downloads: writer with the STORE method only (safetensors
 * does not compress), reader for STORE and DEFLATE (a folder zipped by the OS deflates; we inflate
 * with the platform's DecompressionStream('deflate-raw'), so no dependency). No zip64, no
 * encryption, no multi-disk — refused with a clear message.
 * Layout (APPNOTE 6.3): local headers + data, central directory, end-of-central-directory record.
 */

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();

/** CRC-32 (IEEE 802.3, reflected, as zip and PNG use it). */
export function crc32(bytes: Uint8Array): number {
	let c = 0xffffffff;
	for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
	name: string;
	data: Uint8Array;
}

export class ZipFormatError extends Error {
	constructor(message: string) {
		super(`zip: ${message}`);
		this.name = 'ZipFormatError';
	}
}

function dosDateTime(d: Date): { time: number; date: number } {
	const year = Math.max(1980, d.getFullYear());
	return {
		time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
		date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate()
	};
}

/** Zip the entries with the STORE method (names UTF-8, flag bit 11). */
export function writeZip(entries: ZipEntry[], modified: Date = new Date()): Uint8Array {
	const enc = new TextEncoder();
	const { time, date } = dosDateTime(modified);
	const locals: Uint8Array[] = [];
	const centrals: Uint8Array[] = [];
	let offset = 0;
	for (const e of entries) {
		const name = enc.encode(e.name);
		const crc = crc32(e.data);
		if (e.data.length >= 0xffffffff || offset >= 0xffffffff)
			throw new ZipFormatError('entry too large (zip64 is not supported)');
		const local = new Uint8Array(30 + name.length);
		const lv = new DataView(local.buffer);
		lv.setUint32(0, 0x04034b50, true); // local file header signature
		lv.setUint16(4, 20, true); // version needed: 2.0
		lv.setUint16(6, 0x0800, true); // UTF-8 names
		lv.setUint16(8, 0, true); // method: STORE
		lv.setUint16(10, time, true);
		lv.setUint16(12, date, true);
		lv.setUint32(14, crc, true);
		lv.setUint32(18, e.data.length, true); // compressed size
		lv.setUint32(22, e.data.length, true); // uncompressed size
		lv.setUint16(26, name.length, true);
		lv.setUint16(28, 0, true); // extra length
		local.set(name, 30);
		const central = new Uint8Array(46 + name.length);
		const cv = new DataView(central.buffer);
		cv.setUint32(0, 0x02014b50, true); // central directory signature
		cv.setUint16(4, 20, true); // version made by
		cv.setUint16(6, 20, true); // version needed
		cv.setUint16(8, 0x0800, true);
		cv.setUint16(10, 0, true);
		cv.setUint16(12, time, true);
		cv.setUint16(14, date, true);
		cv.setUint32(16, crc, true);
		cv.setUint32(20, e.data.length, true);
		cv.setUint32(24, e.data.length, true);
		cv.setUint16(28, name.length, true);
		// extra, comment, disk, internal attrs, external attrs: 0
		cv.setUint32(42, offset, true); // local header offset
		central.set(name, 46);
		locals.push(local, e.data);
		centrals.push(central);
		offset += local.length + e.data.length;
	}
	const cdSize = centrals.reduce((s, c) => s + c.length, 0);
	const eocd = new Uint8Array(22);
	const ev = new DataView(eocd.buffer);
	ev.setUint32(0, 0x06054b50, true);
	ev.setUint16(8, entries.length, true);
	ev.setUint16(10, entries.length, true);
	ev.setUint32(12, cdSize, true);
	ev.setUint32(16, offset, true);
	const out = new Uint8Array(offset + cdSize + 22);
	let p = 0;
	for (const part of [...locals, ...centrals, eocd]) {
		out.set(part, p);
		p += part.length;
	}
	return out;
}

async function inflateRaw(data: Uint8Array): Promise<Uint8Array> {
	if (typeof DecompressionStream === 'undefined')
		throw new ZipFormatError(
			'this zip is compressed (DEFLATE) and this platform cannot inflate it; zip with "store" instead'
		);
	const stream = new Blob([data as BlobPart])
		.stream()
		.pipeThrough(new DecompressionStream('deflate-raw'));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Read every file entry (directories skipped). CRCs are checked. */
export async function readZip(bytes: Uint8Array): Promise<ZipEntry[]> {
	const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	let eocd = -1;
	for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--)
		if (v.getUint32(i, true) === 0x06054b50) {
			eocd = i;
			break;
		}
	if (eocd < 0) throw new ZipFormatError('not a zip file (no end-of-central-directory record)');
	const count = v.getUint16(eocd + 10, true);
	const cdSize = v.getUint32(eocd + 12, true);
	const cdOffset = v.getUint32(eocd + 16, true);
	if (count === 0xffff || cdOffset === 0xffffffff)
		throw new ZipFormatError('zip64 archives are not supported');
	if (cdOffset + cdSize > bytes.length) throw new ZipFormatError('central directory out of range');
	const dec = new TextDecoder();
	const out: ZipEntry[] = [];
	let p = cdOffset;
	for (let n = 0; n < count; n++) {
		if (p + 46 > bytes.length || v.getUint32(p, true) !== 0x02014b50)
			throw new ZipFormatError('corrupt central directory');
		const flags = v.getUint16(p + 8, true);
		const method = v.getUint16(p + 10, true);
		const crc = v.getUint32(p + 16, true);
		const csize = v.getUint32(p + 20, true);
		const usize = v.getUint32(p + 24, true);
		const nameLen = v.getUint16(p + 28, true);
		const extraLen = v.getUint16(p + 30, true);
		const commentLen = v.getUint16(p + 32, true);
		const localOff = v.getUint32(p + 42, true);
		const name = dec.decode(bytes.subarray(p + 46, p + 46 + nameLen));
		p += 46 + nameLen + extraLen + commentLen;
		if (name.endsWith('/')) continue;
		if (flags & 1) throw new ZipFormatError(`${name} is encrypted`);
		if (localOff + 30 > bytes.length || v.getUint32(localOff, true) !== 0x04034b50)
			throw new ZipFormatError(`${name}: corrupt local header`);
		const start =
			localOff + 30 + v.getUint16(localOff + 26, true) + v.getUint16(localOff + 28, true);
		if (start + csize > bytes.length) throw new ZipFormatError(`${name}: data out of range`);
		const raw = bytes.subarray(start, start + csize);
		let data: Uint8Array;
		if (method === 0) data = raw;
		else if (method === 8) data = await inflateRaw(raw);
		else
			throw new ZipFormatError(
				`${name}: compression method ${method} is not supported (only store and deflate)`
			);
		if (data.length !== usize)
			throw new ZipFormatError(`${name}: size ${data.length} ≠ ${usize} in the directory`);
		if (crc32(data) !== crc) throw new ZipFormatError(`${name}: CRC mismatch (file damaged)`);
		out.push({ name, data });
	}
	return out;
}
