/** Saves data as a file through a temporary object URL and link (works offline, no server). */
export function downloadBlob(
	fileName: string,
	data: Blob | Uint8Array,
	type = 'application/octet-stream'
): void {
	const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>], { type });
	const url = URL.createObjectURL(blob);
	const link = document.createElement('a');
	link.href = url;
	link.download = fileName;
	link.rel = 'noopener';
	document.body.append(link);
	link.click();
	link.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Saves text as a UTF-8 file. */
export function downloadText(fileName: string, text: string, type = 'text/plain'): void {
	downloadBlob(fileName, new Blob([text], { type: `${type};charset=utf-8` }));
}

/** A file name from free text: keeps letters of any script, digits, dashes; the rest become '-'. */
export function safeFileName(name: string): string {
	const cleaned = name
		.normalize('NFC')
		.replace(/[^\p{L}\p{N}._-]+/gu, '-')
		.replace(/^-+|-+$/g, '');
	return cleaned.slice(0, 80) || 'export';
}
