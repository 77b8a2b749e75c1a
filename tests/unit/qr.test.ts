/**
 * The share dialog's QR codes (the `qrcode` library behind src/lib/share/qr.ts) read back with an
 * independent reader written here from ISO/IEC 18004: format bits against the standard's table (both
 * copies), version bits, unmasking, codeword order, block de-interleaving, zero Reed–Solomon
 * syndromes, byte-mode payload — the same checks that protected the hand-written encoder it replaces.
 */
import { describe, expect, it } from 'vitest';
import { encodeQr, qrSvg, type QrCode } from '../../src/lib/share/qr';

// GF(256) with the QR polynomial, by log tables (the encoder multiplies bit by bit instead)
const EXP: number[] = [];
const LOG: number[] = new Array(256).fill(0);
for (let i = 0, x = 1; i < 255; i++) {
	EXP[i] = x;
	LOG[x] = i;
	x <<= 1;
	if (x & 0x100) x ^= 0x11d;
}
const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : EXP[(LOG[a] + LOG[b]) % 255]);

/** Block layout from the standard's table: ecc codewords per block, data codewords of each block. */
const LAYOUT: Record<string, { ecc: number; blocks: number[] }> = {
	'1-M': { ecc: 10, blocks: [16] },
	'2-M': { ecc: 16, blocks: [28] },
	'5-Q': { ecc: 18, blocks: [15, 15, 16, 16] },
	'7-L': { ecc: 20, blocks: [78, 78] },
	'10-M': { ecc: 26, blocks: [43, 43, 43, 43, 44] }
};
/** Alignment pattern centres from the standard's table. */
const ALIGN: Record<number, number[]> = {
	1: [],
	2: [6, 18],
	5: [6, 30],
	7: [6, 22, 38],
	10: [6, 28, 50]
};
/** Format strings from the standard's table (level M and L, masks 0–7). */
const FORMAT = {
	M: [
		'101010000010010',
		'101000100100101',
		'101111001111100',
		'101101101001011',
		'100010111111001',
		'100000011001110',
		'100111110010111',
		'100101010100000'
	],
	Q: [
		'011010101011111',
		'011000001101000',
		'011111100110001',
		'011101000000110',
		'010010010110100',
		'010000110000011',
		'010111011011010',
		'010101111101101'
	],
	L: [
		'111011111000100',
		'111001011110011',
		'111110110101010',
		'111100010011101',
		'110011000101111',
		'110001100011000',
		'110110001000001',
		'110100101110110'
	]
};

function functionModules(version: number): boolean[][] {
	const size = version * 4 + 17;
	const f = Array.from({ length: size }, () => new Array(size).fill(false));
	const box = (x0: number, y0: number, w: number) => {
		for (let y = Math.max(0, y0); y < Math.min(size, y0 + w); y++)
			for (let x = Math.max(0, x0); x < Math.min(size, x0 + w); x++) f[y][x] = true;
	};
	box(0, 0, 9); // finder + separator + format
	box(size - 8, 0, 8);
	box(0, size - 8, 8);
	for (let i = 0; i < 8; i++) {
		f[8][size - 1 - i] = true; // format, second copy
		f[size - 1 - i][8] = true;
	}
	for (let i = 0; i < size; i++) f[6][i] = f[i][6] = true;
	const a = ALIGN[version];
	for (const cy of a)
		for (const cx of a) {
			if (
				(cx === 6 && cy === 6) ||
				(cx === 6 && cy === a[a.length - 1]) ||
				(cy === 6 && cx === a[a.length - 1])
			)
				continue;
			box(cx - 2, cy - 2, 5);
		}
	if (version >= 7) {
		box(size - 11, 0, 3);
		for (let y = 0; y < 6; y++) for (let x = size - 11; x < size - 8; x++) f[y][x] = true;
		for (let y = size - 11; y < size - 8; y++) for (let x = 0; x < 6; x++) f[y][x] = true;
	}
	return f;
}

const MASKS = [
	(x: number, y: number) => (x + y) % 2 === 0,
	(_x: number, y: number) => y % 2 === 0,
	(x: number) => x % 3 === 0,
	(x: number, y: number) => (x + y) % 3 === 0,
	(x: number, y: number) => (Math.floor(y / 2) + Math.floor(x / 3)) % 2 === 0,
	(x: number, y: number) => ((x * y) % 2) + ((x * y) % 3) === 0,
	(x: number, y: number) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
	(x: number, y: number) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0
];

/** Read a symbol back: returns level, mask and the byte-mode payload; checks every block's RS syndromes. */
function readQr(qr: QrCode): { ecl: string; mask: number; bytes: number[] } {
	const { modules: m, size, version } = qr;
	// format bits, first copy: bits 14..9 at (8, 0..5), (8,7), (8,8), (7,8), bits 5..0 at (5..0, 8)
	const cells: [number, number][] = [];
	for (let y = 0; y <= 5; y++) cells.push([8, y]);
	cells.push([8, 7], [8, 8], [7, 8]);
	for (let x = 5; x >= 0; x--) cells.push([x, 8]);
	// cells[i] holds bit i (LSB first); the string in the table is MSB first
	const bits = cells
		.map(([x, y]) => (m[y][x] ? '1' : '0'))
		.reverse()
		.join('');
	let ecl = '';
	let mask = -1;
	for (const level of ['M', 'L', 'Q'] as const)
		FORMAT[level].forEach((s, i) => {
			if (s === bits) [ecl, mask] = [level, i];
		});
	if (mask < 0) throw new Error(`unreadable format bits ${bits}`);
	// second copy must agree
	const second: string[] = [];
	for (let i = 0; i < 8; i++) second.push(m[8][size - 1 - i] ? '1' : '0');
	for (let i = 8; i < 15; i++) second.push(m[size - 15 + i][8] ? '1' : '0');
	expect(second.reverse().join('')).toBe(bits);

	const fn = functionModules(version);
	const stream: number[] = [];
	for (let right = size - 1; right >= 1; right -= 2) {
		if (right === 6) right = 5;
		const upward = ((size - 1 - right) >> 1) % 2 === 0 ? true : false;
		for (let v = 0; v < size; v++) {
			const y = upward ? size - 1 - v : v;
			for (const x of [right, right - 1]) {
				if (fn[y][x]) continue;
				stream.push((m[y][x] ? 1 : 0) ^ (MASKS[mask](x, y) ? 1 : 0));
			}
		}
	}
	const codewords: number[] = [];
	for (let i = 0; i + 8 <= stream.length; i += 8)
		codewords.push(parseInt(stream.slice(i, i + 8).join(''), 2));
	const layout = LAYOUT[`${version}-${ecl}`];
	const blocks = layout.blocks.map(() => [] as number[]);
	let at = 0;
	const longest = Math.max(...layout.blocks);
	for (let i = 0; i < longest; i++)
		layout.blocks.forEach((n, b) => i < n && blocks[b].push(codewords[at++]));
	const ecc = layout.blocks.map(() => [] as number[]);
	for (let i = 0; i < layout.ecc; i++)
		layout.blocks.forEach((_, b) => ecc[b].push(codewords[at++]));
	blocks.forEach((data, b) => {
		const poly = [...data, ...ecc[b]];
		for (let i = 0; i < layout.ecc; i++) {
			let s = 0;
			for (const c of poly) s = mul(s, EXP[i]) ^ c;
			expect(s, `syndrome ${i} of block ${b}`).toBe(0);
		}
	});
	const data = blocks.flat();
	const bitsOf = data.map((b) => b.toString(2).padStart(8, '0')).join('');
	expect(bitsOf.slice(0, 4)).toBe('0100');
	const countBits = version <= 9 ? 8 : 16;
	const count = parseInt(bitsOf.slice(4, 4 + countBits), 2);
	const bytes: number[] = [];
	for (let i = 0; i < count; i++)
		bytes.push(parseInt(bitsOf.slice(4 + countBits + i * 8, 12 + countBits + i * 8), 2));
	return { ecl, mask, bytes };
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];

describe('QR codes', () => {
	it('writes the standard’s version bits (version 7)', () => {
		// version 7's information, read from the bottom-left block (6 × 3), bit i at (i / 3, size − 11 + i % 3)
		const qr = encodeQr('x'.repeat(150), { ecl: 'L' });
		expect(qr.version).toBe(7);
		let bits = '';
		for (let i = 17; i >= 0; i--)
			bits += qr.modules[qr.size - 11 + (i % 3)][Math.floor(i / 3)] ? '1' : '0';
		expect(bits).toBe('000111110010010100');
	});

	it('picks the smallest version and reads back, for every mask', () => {
		for (let mask = 0; mask < 8; mask++) {
			const qr = encodeQr('https://a.b/c#d', { ecl: 'M', mask });
			expect(qr.version).toBe(2);
			const read = readQr(qr);
			expect(read).toEqual({ ecl: 'M', mask, bytes: utf8('https://a.b/c#d') });
		}
		const short = encodeQr('Mondō 問答', { ecl: 'M' });
		expect(short.version).toBe(1);
		expect(readQr(short).bytes).toEqual(utf8('Mondō 問答'));
	});

	it('reads back multi-block symbols (5-Q, 7-L, 10-M) with the chosen mask', () => {
		const cases: [string, 'L' | 'M' | 'Q', number][] = [
			['q'.repeat(55), 'Q', 5],
			['http://192.168.1.20:8080/settings#mirror=' + 'x'.repeat(108), 'L', 7],
			['https://studio.example/chat#share=' + 'eyJ2IjoxLCJtb2RlbCI6'.repeat(8) + 'あいう', 'M', 10]
		];
		for (const [text, ecl, version] of cases) {
			const qr = encodeQr(text, { ecl });
			expect(qr.version).toBe(version);
			expect(readQr(qr).bytes).toEqual(utf8(text));
		}
	});

	it('refuses data that does not fit', () => {
		expect(() => encodeQr('x'.repeat(300), { maxVersion: 10 })).toThrow(/do not fit/);
		expect(() => encodeQr('x'.repeat(3000), { ecl: 'H' })).toThrow();
	});

	it('renders SVG with a quiet zone and nothing active', async () => {
		const qr = encodeQr('hello');
		const svg = await qrSvg('hello');
		expect(svg).toContain(`viewBox="0 0 ${qr.size + 8} ${qr.size + 8}"`);
		expect(svg).not.toMatch(/<script|on\w+=/i);
	});
});
