/**
 * MD5 (RFC 1321), incremental, in plain TypeScript — to check downloaded MLC shards against the
 * `md5sum` of their manifest. Not for security: only to catch damaged or truncated files.
 */

// Per-round shift amounts and the sine-derived constants K[i] = floor(|sin(i + 1)| · 2^32).
const SHIFTS = [
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
	20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6,
	10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

export class Md5 {
	private state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
	private block = new Uint8Array(64);
	private blockView = new DataView(this.block.buffer);
	private blockFill = 0;
	private totalBytes = 0;
	private words = new Int32Array(16);
	private finished = false;

	update(data: Uint8Array | ArrayBuffer): this {
		if (this.finished) throw new Error('Md5.update after digest');
		const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
		this.totalBytes += bytes.byteLength;
		let i = 0;
		if (this.blockFill > 0) {
			const take = Math.min(64 - this.blockFill, bytes.byteLength);
			this.block.set(bytes.subarray(0, take), this.blockFill);
			this.blockFill += take;
			i = take;
			if (this.blockFill < 64) return this;
			this.compress(this.blockView, 0);
			this.blockFill = 0;
		}
		const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		for (; i + 64 <= bytes.byteLength; i += 64) this.compress(view, i);
		if (i < bytes.byteLength) {
			this.block.set(bytes.subarray(i), 0);
			this.blockFill = bytes.byteLength - i;
		}
		return this;
	}

	/** The digest as 32 lowercase hex characters (as `md5sum` prints it). */
	digestHex(): string {
		if (!this.finished) {
			const bitLength = this.totalBytes * 8;
			const padding = new Uint8Array((this.blockFill < 56 ? 56 : 120) - this.blockFill + 8);
			padding[0] = 0x80;
			const tail = new DataView(padding.buffer);
			tail.setUint32(padding.length - 8, bitLength >>> 0, true);
			tail.setUint32(padding.length - 4, Math.floor(bitLength / 2 ** 32), true);
			const total = this.totalBytes;
			this.update(padding);
			this.totalBytes = total;
			this.finished = true;
		}
		let hex = '';
		const out = new DataView(this.state.buffer);
		for (let i = 0; i < 16; i++) hex += out.getUint8(i).toString(16).padStart(2, '0');
		return hex;
	}

	private compress(view: DataView, at: number) {
		const m = this.words;
		for (let j = 0; j < 16; j++) m[j] = view.getInt32(at + 4 * j, true);
		const s = this.state;
		let a = s[0],
			b = s[1],
			c = s[2],
			d = s[3];
		for (let i = 0; i < 64; i++) {
			let f: number, g: number;
			if (i < 16) {
				f = (b & c) | (~b & d);
				g = i;
			} else if (i < 32) {
				f = (d & b) | (~d & c);
				g = (5 * i + 1) & 15;
			} else if (i < 48) {
				f = b ^ c ^ d;
				g = (3 * i + 5) & 15;
			} else {
				f = c ^ (b | ~d);
				g = (7 * i) & 15;
			}
			const sum = (a + f + K[i] + m[g]) | 0;
			a = d;
			d = c;
			c = b;
			b = (b + ((sum << SHIFTS[i]) | (sum >>> (32 - SHIFTS[i])))) | 0;
		}
		s[0] = (s[0] + a) | 0;
		s[1] = (s[1] + b) | 0;
		s[2] = (s[2] + c) | 0;
		s[3] = (s[3] + d) | 0;
	}
}

/** MD5 of a whole buffer as lowercase hex. */
export function md5Hex(data: Uint8Array | ArrayBuffer): string {
	return new Md5().update(data).digestHex();
}
