/**
 * QR codes for share links (the share dialog) by the maintained `qrcode` library. The text goes in
 * as one byte-mode segment of its UTF-8 bytes — what phone scanners read back as the same URL,
 * whatever characters a share link carries. The classroom CLI prints its code with the same library
 * (`QRCode.toString(…, { type: 'utf8' })` in scripts/classroom.mjs).
 */
import QRCode from 'qrcode';

export type QrLevel = 'L' | 'M' | 'Q' | 'H';

/** A symbol as rows of modules (true = dark), for tests and custom renderers. */
export interface QrCode {
	version: number;
	size: number;
	modules: boolean[][];
}

export interface QrOptions {
	/** Error-correction level (default 'M'). */
	ecl?: QrLevel;
	/** Force a mask pattern 0–7 (default: the library picks the best). */
	mask?: number;
	/** Refuse text that needs a larger version than this (default 40, the largest). */
	maxVersion?: number;
}

const segments = (text: string) => [
	{ data: new TextEncoder().encode(text), mode: 'byte' as const }
];

export function encodeQr(text: string, options: QrOptions = {}): QrCode {
	const qr = QRCode.create(segments(text), {
		errorCorrectionLevel: options.ecl ?? 'M',
		maskPattern: options.mask as QRCode.QRCodeMaskPattern | undefined
	});
	const maxVersion = options.maxVersion ?? 40;
	if (qr.version > maxVersion)
		throw new RangeError(
			`QR: ${text.length} characters do not fit in version ${maxVersion} (they need ${qr.version})`
		);
	const { size, data } = qr.modules;
	const modules = Array.from({ length: size }, (_, y) =>
		Array.from({ length: size }, (_, x) => data[y * size + x] === 1)
	);
	return { version: qr.version, size, modules };
}

/** The symbol as an SVG document with a 4-module quiet zone (the library's renderer). */
export function qrSvg(text: string, ecl: QrLevel = 'M'): Promise<string> {
	return QRCode.toString(segments(text), { type: 'svg', errorCorrectionLevel: ecl, margin: 4 });
}
