/** One buffer of chunks read from a stream (`length` = their total, when the caller counted it). */
export function concatBytes(
	parts: Uint8Array[],
	length = parts.reduce((n, p) => n + p.byteLength, 0)
): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(length);
	let at = 0;
	for (const p of parts) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out;
}
