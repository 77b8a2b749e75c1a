// @ts-check
/**
 * A QR code encoder (ISO/IEC 18004, model 2) with no dependency: byte mode, error correction
 * L/M/Q/H, versions 1–40, the mask chosen by the standard's penalty score. It renders to SVG for
 * the studio (a link on a classroom projector) and to terminal text for the classroom server.
 *
 * Plain JavaScript with JSDoc types on purpose: the Node scripts (scripts/classroom.mjs) import this
 * very file without a build step, and the app imports it like any TypeScript module.
 *
 * The steps follow the standard's order: data bits (mode, count, bytes, terminator, padding) →
 * split into blocks → Reed–Solomon error correction per block → interleave → place in the matrix
 * around the function patterns → mask → format and version information.
 */

/** @typedef {'L' | 'M' | 'Q' | 'H'} QrEcl */
/**
 * @typedef {object} QrCode
 * @property {number} version 1–40
 * @property {number} size modules per side, 17 + 4 × version
 * @property {QrEcl} ecl
 * @property {number} mask 0–7
 * @property {boolean[][]} modules modules[y][x], true = dark
 */

/** Error-correction codewords per block, by level and version (index 0 unused). */
const ECC_PER_BLOCK = {
	L: [
		-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30,
		30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30
	],
	M: [
		-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28,
		28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28
	],
	Q: [
		-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30,
		30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30
	],
	H: [
		-1, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30,
		30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30
	]
};
/** Number of error-correction blocks, by level and version (index 0 unused). */
const BLOCKS = {
	L: [
		-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14,
		15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25
	],
	M: [
		-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23,
		25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49
	],
	Q: [
		-1, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34,
		34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68
	],
	H: [
		-1, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35,
		37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81
	]
};
/** The two format bits of each level (L = 01, M = 00, Q = 11, H = 10). */
const ECL_BITS = { L: 1, M: 0, Q: 3, H: 2 };

/**
 * Modules left for data and error correction once the function patterns are placed.
 * @param {number} version
 */
export function rawDataModules(version) {
	let n = (16 * version + 128) * version + 64;
	if (version >= 2) {
		const align = Math.floor(version / 7) + 2;
		n -= (25 * align - 10) * align - 55;
		if (version >= 7) n -= 36;
	}
	return n;
}

/**
 * Data codewords (8-bit) a symbol of this version and level holds.
 * @param {number} version
 * @param {QrEcl} ecl
 */
export function dataCodewords(version, ecl) {
	return (
		Math.floor(rawDataModules(version) / 8) - ECC_PER_BLOCK[ecl][version] * BLOCKS[ecl][version]
	);
}

// ------------------------------------------------------------ Reed–Solomon over GF(256), 0x11d

/** @param {number} x @param {number} y */
function gfMultiply(x, y) {
	let z = 0;
	for (let i = 7; i >= 0; i--) {
		z = (z << 1) ^ ((z >>> 7) * 0x11d);
		z ^= ((y >>> i) & 1) * x;
	}
	return z & 0xff;
}

/**
 * Coefficients of the generator polynomial (x − α⁰)(x − α¹)…(x − α^(degree−1)), highest first,
 * without the leading 1.
 * @param {number} degree
 */
function rsDivisor(degree) {
	const result = new Array(degree).fill(0);
	result[degree - 1] = 1;
	let root = 1;
	for (let i = 0; i < degree; i++) {
		for (let j = 0; j < degree; j++) {
			result[j] = gfMultiply(result[j], root);
			if (j + 1 < degree) result[j] ^= result[j + 1];
		}
		root = gfMultiply(root, 0x02);
	}
	return result;
}

/**
 * The error-correction codewords of one block: the remainder of data·x^degree by the generator.
 * @param {number[]} data
 * @param {number} degree
 */
export function reedSolomon(data, degree) {
	const divisor = rsDivisor(degree);
	const result = new Array(degree).fill(0);
	for (const b of data) {
		const factor = b ^ /** @type {number} */ (result.shift());
		result.push(0);
		divisor.forEach((coef, i) => (result[i] ^= gfMultiply(coef, factor)));
	}
	return result;
}

// ------------------------------------------------------------ data codewords

/**
 * @param {Uint8Array} bytes
 * @param {number} version
 * @param {QrEcl} ecl
 */
function dataCodewordsFor(bytes, version, ecl) {
	/** @type {number[]} */
	const bits = [];
	/** @param {number} value @param {number} length */
	const put = (value, length) => {
		for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
	};
	put(0b0100, 4); // byte mode
	put(bytes.length, version <= 9 ? 8 : 16);
	for (const b of bytes) put(b, 8);
	const capacityBits = dataCodewords(version, ecl) * 8;
	put(0, Math.min(4, capacityBits - bits.length)); // terminator
	put(0, (8 - (bits.length % 8)) % 8);
	for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) put(pad, 8);
	/** @type {number[]} */
	const codewords = [];
	for (let i = 0; i < bits.length; i += 8) {
		let b = 0;
		for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
		codewords.push(b);
	}
	return codewords;
}

/**
 * Split into blocks, add error correction, interleave (the standard's final codeword sequence).
 * @param {number[]} data
 * @param {number} version
 * @param {QrEcl} ecl
 */
function interleaved(data, version, ecl) {
	const numBlocks = BLOCKS[ecl][version];
	const eccLen = ECC_PER_BLOCK[ecl][version];
	const rawCodewords = Math.floor(rawDataModules(version) / 8);
	const numShort = numBlocks - (rawCodewords % numBlocks);
	const shortLen = Math.floor(rawCodewords / numBlocks);
	/** @type {number[][]} */
	const blocks = [];
	for (let i = 0, at = 0; i < numBlocks; i++) {
		const len = shortLen - eccLen + (i < numShort ? 0 : 1);
		const d = data.slice(at, at + len);
		at += len;
		const ecc = reedSolomon(d, eccLen);
		if (i < numShort) d.push(-1); // placeholder so every block has the same length
		blocks.push(d.concat(ecc));
	}
	/** @type {number[]} */
	const out = [];
	for (let i = 0; i < blocks[0].length; i++)
		blocks.forEach((b, j) => {
			if (i !== shortLen - eccLen || j >= numShort) out.push(b[i]);
		});
	return out;
}

// ------------------------------------------------------------ the matrix

/** @param {number} version */
function alignmentPositions(version) {
	if (version === 1) return [];
	const count = Math.floor(version / 7) + 2;
	const step = version === 32 ? 26 : Math.ceil((version * 4 + 4) / (count * 2 - 2)) * 2;
	const result = [6];
	for (let pos = version * 4 + 10; result.length < count; pos -= step) result.splice(1, 0, pos);
	return result;
}

/**
 * 15 format bits (level, mask) with their BCH code, XOR-ed with the standard's mask 0x5412.
 * @param {QrEcl} ecl
 * @param {number} mask
 */
export function formatBits(ecl, mask) {
	const data = (ECL_BITS[ecl] << 3) | mask;
	let rem = data;
	for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
	return ((data << 10) | rem) ^ 0x5412;
}

/** @param {number} mask @param {number} x @param {number} y */
function maskBit(mask, x, y) {
	switch (mask) {
		case 0:
			return (x + y) % 2 === 0;
		case 1:
			return y % 2 === 0;
		case 2:
			return x % 3 === 0;
		case 3:
			return (x + y) % 3 === 0;
		case 4:
			return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0;
		case 5:
			return ((x * y) % 2) + ((x * y) % 3) === 0;
		case 6:
			return (((x * y) % 2) + ((x * y) % 3)) % 2 === 0;
		default:
			return (((x + y) % 2) + ((x * y) % 3)) % 2 === 0;
	}
}

class Matrix {
	/** @param {number} version */
	constructor(version) {
		this.version = version;
		this.size = version * 4 + 17;
		/** @type {boolean[][]} */
		this.modules = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
		/** @type {boolean[][]} true where a function pattern sits (never masked, never data) */
		this.isFunction = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
	}
	/** @param {number} x @param {number} y @param {boolean} dark */
	setFunction(x, y, dark) {
		this.modules[y][x] = dark;
		this.isFunction[y][x] = true;
	}
	drawFunctionPatterns() {
		const { size } = this;
		for (let i = 0; i < size; i++) {
			this.setFunction(6, i, i % 2 === 0); // timing patterns
			this.setFunction(i, 6, i % 2 === 0);
		}
		this.finder(3, 3);
		this.finder(size - 4, 3);
		this.finder(3, size - 4);
		const pos = alignmentPositions(this.version);
		const n = pos.length;
		for (let i = 0; i < n; i++)
			for (let j = 0; j < n; j++)
				if (!((i === 0 && j === 0) || (i === 0 && j === n - 1) || (i === n - 1 && j === 0)))
					this.alignment(pos[i], pos[j]);
		this.drawFormat('L', 0); // reserve the areas; drawn for real after masking
		this.drawVersion();
	}
	/** Finder pattern with its separator, centred at (cx, cy). @param {number} cx @param {number} cy */
	finder(cx, cy) {
		for (let dy = -4; dy <= 4; dy++)
			for (let dx = -4; dx <= 4; dx++) {
				const dist = Math.max(Math.abs(dx), Math.abs(dy));
				const x = cx + dx;
				const y = cy + dy;
				if (x >= 0 && x < this.size && y >= 0 && y < this.size)
					this.setFunction(x, y, dist !== 2 && dist !== 4);
			}
	}
	/** @param {number} cx @param {number} cy */
	alignment(cx, cy) {
		for (let dy = -2; dy <= 2; dy++)
			for (let dx = -2; dx <= 2; dx++)
				this.setFunction(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
	}
	/** @param {QrEcl} ecl @param {number} mask */
	drawFormat(ecl, mask) {
		const bits = formatBits(ecl, mask);
		const bit = /** @param {number} i */ (i) => ((bits >>> i) & 1) !== 0;
		const { size } = this;
		// first copy, around the top-left finder
		for (let i = 0; i <= 5; i++) this.setFunction(8, i, bit(i));
		this.setFunction(8, 7, bit(6));
		this.setFunction(8, 8, bit(7));
		this.setFunction(7, 8, bit(8));
		for (let i = 9; i < 15; i++) this.setFunction(14 - i, 8, bit(i));
		// second copy, split between the other two finders
		for (let i = 0; i < 8; i++) this.setFunction(size - 1 - i, 8, bit(i));
		for (let i = 8; i < 15; i++) this.setFunction(8, size - 15 + i, bit(i));
		this.setFunction(8, size - 8, true); // the dark module
	}
	drawVersion() {
		if (this.version < 7) return;
		let rem = this.version;
		for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
		const bits = (this.version << 12) | rem;
		for (let i = 0; i < 18; i++) {
			const dark = ((bits >>> i) & 1) !== 0;
			const a = this.size - 11 + (i % 3);
			const b = Math.floor(i / 3);
			this.setFunction(a, b, dark);
			this.setFunction(b, a, dark);
		}
	}
	/** Zig-zag placement, two columns at a time from the bottom right. @param {number[]} codewords */
	drawCodewords(codewords) {
		let i = 0;
		const { size } = this;
		for (let right = size - 1; right >= 1; right -= 2) {
			if (right === 6) right = 5; // skip the vertical timing column
			for (let vert = 0; vert < size; vert++)
				for (let j = 0; j < 2; j++) {
					const x = right - j;
					const upward = ((right + 1) & 2) === 0;
					const y = upward ? size - 1 - vert : vert;
					if (!this.isFunction[y][x] && i < codewords.length * 8) {
						this.modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
						i++;
					}
				}
		}
	}
	/** XOR the data area with a mask pattern (applying it twice undoes it). @param {number} mask */
	applyMask(mask) {
		for (let y = 0; y < this.size; y++)
			for (let x = 0; x < this.size; x++)
				if (!this.isFunction[y][x] && maskBit(mask, x, y)) this.modules[y][x] = !this.modules[y][x];
	}
	/** The standard's penalty score (N1…N4); lower reads better. */
	penalty() {
		const { size, modules } = this;
		let score = 0;
		const finderLike = /** @param {boolean[]} line */ (line) => {
			// 1:1:3:1:1 dark pattern with four light modules on either side
			let n = 0;
			const s = line.map((d) => (d ? '1' : '0')).join('');
			for (const p of ['00001011101', '10111010000']) {
				for (let at = s.indexOf(p); at >= 0; at = s.indexOf(p, at + 1)) n++;
			}
			return n;
		};
		const lines = [];
		for (let y = 0; y < size; y++) lines.push(modules[y]);
		for (let x = 0; x < size; x++) lines.push(modules.map((row) => row[x]));
		for (const line of lines) {
			let run = 1;
			for (let i = 1; i <= size; i++) {
				if (i < size && line[i] === line[i - 1]) run++;
				else {
					if (run >= 5) score += 3 + (run - 5);
					run = 1;
				}
			}
			// pad with light modules: the quiet zone counts as light
			score += 40 * finderLike([false, false, false, false, ...line, false, false, false, false]);
		}
		for (let y = 0; y < size - 1; y++)
			for (let x = 0; x < size - 1; x++) {
				const c = modules[y][x];
				if (c === modules[y][x + 1] && c === modules[y + 1][x] && c === modules[y + 1][x + 1])
					score += 3;
			}
		let dark = 0;
		for (const row of modules) for (const m of row) if (m) dark++;
		const total = size * size;
		const k = Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1;
		return score + Math.max(0, k) * 10;
	}
}

/**
 * Encode text (UTF-8) or bytes in byte mode, in the smallest version that fits.
 * @param {string | Uint8Array} data
 * @param {{ ecl?: QrEcl, minVersion?: number, maxVersion?: number, mask?: number }} [options]
 *   ecl defaults to 'M'; mask (0–7) forces a mask instead of the lowest-penalty one.
 * @returns {QrCode}
 */
export function encodeQr(data, options = {}) {
	const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
	const ecl = options.ecl ?? 'M';
	const minVersion = options.minVersion ?? 1;
	const maxVersion = options.maxVersion ?? 40;
	let version = minVersion;
	for (; ; version++) {
		if (version > maxVersion)
			throw new RangeError(
				`${bytes.length} bytes do not fit in a QR code of version ≤ ${maxVersion} at level ${ecl}`
			);
		const headerBits = 4 + (version <= 9 ? 8 : 16);
		if (headerBits + bytes.length * 8 <= dataCodewords(version, ecl) * 8) break;
	}
	const codewords = interleaved(dataCodewordsFor(bytes, version, ecl), version, ecl);
	const matrix = new Matrix(version);
	matrix.drawFunctionPatterns();
	matrix.drawCodewords(codewords);
	let mask = options.mask ?? -1;
	if (mask < 0) {
		let best = Infinity;
		for (let m = 0; m < 8; m++) {
			matrix.applyMask(m);
			matrix.drawFormat(ecl, m);
			const p = matrix.penalty();
			if (p < best) {
				best = p;
				mask = m;
			}
			matrix.applyMask(m);
		}
	}
	matrix.applyMask(mask);
	matrix.drawFormat(ecl, mask);
	return { version, size: matrix.size, ecl, mask, modules: matrix.modules };
}

/**
 * An SVG image of the code: one path of unit squares, a light background and a quiet zone.
 * @param {QrCode} qr
 * @param {{ border?: number, dark?: string, light?: string }} [options] border in modules (default 4)
 */
export function qrToSvg(qr, options = {}) {
	const border = options.border ?? 4;
	const dark = options.dark ?? '#000';
	const light = options.light ?? '#fff';
	const side = qr.size + border * 2;
	let d = '';
	for (let y = 0; y < qr.size; y++)
		for (let x = 0; x < qr.size; x++)
			if (qr.modules[y][x]) d += `M${x + border},${y + border}h1v1h-1z`;
	return (
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}" shape-rendering="crispEdges">` +
		`<rect width="${side}" height="${side}" fill="${light}"/><path d="${d}" fill="${dark}"/></svg>`
	);
}

/**
 * The code as terminal text, two module rows per line with half blocks. Dark modules are drawn
 * as blank and light ones as blocks by default (`invert`), which scans on the usual dark terminal.
 * @param {QrCode} qr
 * @param {{ border?: number, invert?: boolean }} [options]
 */
export function qrToTerminal(qr, options = {}) {
	const border = options.border ?? 2;
	const invert = options.invert ?? true;
	const side = qr.size + border * 2;
	const dark = /** @param {number} x @param {number} y */ (x, y) => {
		const mx = x - border;
		const my = y - border;
		const m = mx >= 0 && my >= 0 && mx < qr.size && my < qr.size && qr.modules[my][mx];
		return invert ? !m : m;
	};
	const lines = [];
	for (let y = 0; y < side; y += 2) {
		let line = '';
		for (let x = 0; x < side; x++) {
			const top = dark(x, y);
			const bottom = y + 1 < side ? dark(x, y + 1) : invert;
			line += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
		}
		lines.push(line);
	}
	return lines.join('\n');
}
