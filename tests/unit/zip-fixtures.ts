/** Zip archives laid out by hand for tests, so that headers can say what a test needs (or lie). */
const enc = new TextEncoder();

export interface RawEntry {
	name: string;
	method: 0 | 8;
	payload: Uint8Array;
	crc: number;
	usize: number;
	/** flag bit 3: sizes and CRC in a data descriptor after the data */
	descriptor?: boolean;
}

/** A zip laid out by hand, so that headers can lie. */
export function rawZip(entries: RawEntry[]): Uint8Array {
	const parts: Uint8Array[] = [];
	const central: Uint8Array[] = [];
	let off = 0;
	for (const e of entries) {
		const name = enc.encode(e.name);
		const dd = e.descriptor ?? false;
		const lh = new Uint8Array(30 + name.length);
		const lv = new DataView(lh.buffer);
		lv.setUint32(0, 0x04034b50, true);
		lv.setUint16(4, 20, true);
		lv.setUint16(6, dd ? 8 : 0, true);
		lv.setUint16(8, e.method, true);
		lv.setUint32(14, dd ? 0 : e.crc, true);
		lv.setUint32(18, dd ? 0 : e.payload.length, true);
		lv.setUint32(22, dd ? 0 : e.usize, true);
		lv.setUint16(26, name.length, true);
		lh.set(name, 30);
		const desc = new Uint8Array(dd ? 16 : 0);
		if (dd) {
			const dv = new DataView(desc.buffer);
			dv.setUint32(0, 0x08074b50, true);
			dv.setUint32(4, e.crc, true);
			dv.setUint32(8, e.payload.length, true);
			dv.setUint32(12, e.usize, true);
		}
		const ch = new Uint8Array(46 + name.length);
		const cv = new DataView(ch.buffer);
		cv.setUint32(0, 0x02014b50, true);
		cv.setUint16(8, dd ? 8 : 0, true);
		cv.setUint16(10, e.method, true);
		cv.setUint32(16, e.crc, true);
		cv.setUint32(20, e.payload.length, true);
		cv.setUint32(24, e.usize, true);
		cv.setUint16(28, name.length, true);
		cv.setUint32(42, off, true);
		ch.set(name, 46);
		parts.push(lh, e.payload, desc);
		central.push(ch);
		off += lh.length + e.payload.length + desc.length;
	}
	const cdSize = central.reduce((s, c) => s + c.length, 0);
	const eocd = new Uint8Array(22);
	const ev = new DataView(eocd.buffer);
	ev.setUint32(0, 0x06054b50, true);
	ev.setUint16(8, entries.length, true);
	ev.setUint16(10, entries.length, true);
	ev.setUint32(12, cdSize, true);
	ev.setUint32(16, off, true);
	return concat([...parts, ...central, eocd]);
}

export function concat(all: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
	let p = 0;
	for (const x of all) {
		out.set(x, p);
		p += x.length;
	}
	return out;
}
