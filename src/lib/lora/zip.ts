/**
 * Zip archives of adapters, on fflate. Writing: the STORE method (safetensors does not compress).
 * Reading: fflate's streaming `Unzip` (STORE and DEFLATE, as the OS zips a folder), fed in small
 * slices so that every entry's size is checked as its bytes come out of the inflater — against the
 * size its header declares and against a hard cap per archive. A zip bomb (1 MB that inflates to
 * 1 GB) is refused after the first slice past the limit, not after inflating it all; a corrupt
 * DEFLATE stream, a CRC mismatch or a truncated entry is an error naming the entry.
 */
import { Unzip, UnzipInflate, Zip, ZipPassThrough, type UnzipFile } from 'fflate';
import { concatBytes } from '../net/bytes';

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();

/** CRC-32 (IEEE 802.3, reflected, as zip uses it); pass the previous value to continue a running CRC. */
export function crc32(bytes: Uint8Array, previous = 0): number {
	let c = ~previous;
	for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
	return ~c >>> 0;
}

export interface ZipEntry {
	name: string;
	data: Uint8Array;
}

export class ZipFormatError extends Error {
	constructor(
		readonly entry: string | null,
		message: string
	) {
		super(`zip: ${entry ? `${entry}: ` : ''}${message}`);
		this.name = 'ZipFormatError';
	}
}

/** Zip the entries, in order, with the STORE method (names UTF-8). */
export function writeZip(entries: ZipEntry[], modified: Date = new Date()): Uint8Array {
	const seen = new Set<string>();
	const parts: Uint8Array[] = [];
	const zip = new Zip((err, data) => {
		if (err) throw err;
		parts.push(data);
	});
	for (const e of entries) {
		if (seen.has(e.name)) throw new ZipFormatError(e.name, 'the same name twice');
		seen.add(e.name);
		const file = new ZipPassThrough(e.name);
		file.mtime = modified;
		zip.add(file);
		file.push(e.data, true);
	}
	zip.end();
	return concatBytes(parts);
}

export interface ZipLimits {
	/** Hard cap on the inflated bytes of all entries together. */
	maxTotalBytes?: number;
	/** Most entries accepted (directories included). */
	maxEntries?: number;
	/**
	 * Most bytes an entry may inflate to per compressed byte, once past 16 MiB. Safetensors of
	 * trained LoRA weights barely compress (~1–2×); a bomb is ~1000×.
	 */
	maxRatio?: number;
}

/**
 * An adapter zip holds two files; the largest adapter of Gemma-2 2B worth sharing (r = 64 on all
 * seven projections, F32) is ~330 MB.
 */
export const ZIP_LIMITS: Required<ZipLimits> = {
	maxTotalBytes: 512 * 1024 * 1024,
	maxEntries: 1000,
	maxRatio: 100
};

/** Input is pushed to the inflater in slices this big, so a check runs at least this often: DEFLATE
 * expands at most ~1032:1, so one slice inflates to at most ~4 MiB before the sizes are checked. */
const SLICE_BYTES = 4 * 1024;

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 2 : 0)} MiB`;

/** One entry as it is read; `declared` and `crc` come from its local header (null: not known). */
interface EntryState {
	name: string;
	declared: number | null;
	crc: number | null;
	parts: Uint8Array[];
	bytes: number;
	running: number;
	done: boolean;
	/** Archive bytes pushed when the entry's header was read (its compressed data comes after). */
	inputAtStart: number;
}

/** Below this an entry's compression ratio is not judged (small, very regular files are fine). */
const RATIO_FREE_BYTES = 16 * 1024 * 1024;

/**
 * Read every file entry (directories skipped), checking sizes as the bytes arrive and CRCs at the
 * end. `source` is the archive's bytes or a stream of them (a File's `stream()`).
 */
export async function readZip(
	source: Uint8Array | ReadableStream<Uint8Array>,
	limits: ZipLimits = {}
): Promise<ZipEntry[]> {
	const maxTotal = limits.maxTotalBytes ?? ZIP_LIMITS.maxTotalBytes;
	const maxEntries = limits.maxEntries ?? ZIP_LIMITS.maxEntries;
	const maxRatio = limits.maxRatio ?? ZIP_LIMITS.maxRatio;
	let pushed = 0;
	const entries: EntryState[] = [];
	let total = 0;
	let failure: ZipFormatError | null = null;
	let current: EntryState | null = null;
	const walk = new LocalHeaderWalk();

	const unzip = new Unzip((file: UnzipFile) => {
		if (failure) return file.terminate();
		if (entries.length >= maxEntries) {
			failure = new ZipFormatError(null, `more than ${maxEntries} entries`);
			return file.terminate();
		}
		const header = walk.next();
		const state: EntryState = {
			name: file.name,
			declared: header?.size ?? null,
			crc: header?.crc ?? null,
			parts: [],
			bytes: 0,
			running: 0,
			inputAtStart: pushed,
			done: false
		};
		entries.push(state);
		if (file.name.endsWith('/')) {
			state.done = true;
			return;
		}
		if (file.compression !== 0 && file.compression !== 8) {
			failure = new ZipFormatError(
				file.name,
				`compression method ${file.compression} is not supported (only store and deflate)`
			);
			return file.terminate();
		}
		// A declared size over the cap is refused before a byte is inflated.
		if (state.declared !== null && total + state.declared > maxTotal) {
			failure = new ZipFormatError(
				file.name,
				`declares ${mib(state.declared)}; the archive may hold at most ${mib(maxTotal)}`
			);
			return file.terminate();
		}
		current = state;
		file.ondata = (err, data, final) => {
			if (failure) return;
			if (err) {
				failure = new ZipFormatError(
					file.name,
					`corrupt compressed data (${err.message}); the file is damaged`
				);
				return;
			}
			state.bytes += data.length;
			total += data.length;
			if (state.declared !== null && state.bytes > state.declared) {
				failure = new ZipFormatError(
					file.name,
					`inflates past the ${state.declared} bytes its header declares (a zip bomb or a damaged file)`
				);
				file.terminate();
				return;
			}
			const compressed = Math.max(1, pushed - state.inputAtStart);
			if (state.bytes > RATIO_FREE_BYTES && state.bytes > maxRatio * compressed) {
				failure = new ZipFormatError(
					file.name,
					`inflates to more than ${maxRatio}× its compressed size (${mib(state.bytes)} from ${mib(compressed)}): a zip bomb`
				);
				file.terminate();
				return;
			}
			if (total > maxTotal) {
				failure = new ZipFormatError(
					file.name,
					`inflates past ${mib(maxTotal)}, the most an archive may hold`
				);
				file.terminate();
				return;
			}
			state.running = crc32(data, state.running);
			state.parts.push(data);
			if (final) state.done = true;
		};
		file.start();
	});
	unzip.register(UnzipInflate);

	const push = (chunk: Uint8Array, final: boolean) => {
		for (let at = 0; at < chunk.length || (final && at === 0); at += SLICE_BYTES) {
			const slice = chunk.subarray(at, at + SLICE_BYTES);
			const last = final && at + SLICE_BYTES >= chunk.length;
			walk.feed(slice);
			pushed += slice.length;
			try {
				unzip.push(slice, last);
			} catch (e) {
				const open = current as EntryState | null;
				failure ??=
					last && open && !open.done
						? new ZipFormatError(open.name, 'truncated archive (the entry ends early)')
						: new ZipFormatError(
								open?.name ?? null,
								`not a readable zip (${(e as Error).message})`
							);
			}
			if (failure) throw failure;
			if (last) break;
		}
	};

	if (source instanceof Uint8Array) push(source, true);
	else {
		const reader = source.getReader();
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) break;
				push(value, false);
			}
		} catch (e) {
			await reader.cancel().catch(() => {});
			throw e;
		}
		push(new Uint8Array(0), true);
	}
	if (failure) throw failure;

	if (entries.length === 0)
		throw new ZipFormatError(null, 'not a zip file (no entries found), or an empty archive');
	const out: ZipEntry[] = [];
	for (const e of entries) {
		if (e.name.endsWith('/')) continue;
		if (!e.done) throw new ZipFormatError(e.name, 'truncated archive (the entry ends early)');
		if (e.declared !== null && e.bytes !== e.declared)
			throw new ZipFormatError(e.name, `size ${e.bytes} ≠ ${e.declared} declared`);
		if (e.crc !== null && e.crc !== e.running)
			throw new ZipFormatError(e.name, 'CRC mismatch (file damaged)');
		out.push({
			name: e.name,
			data: e.parts.length === 1 ? e.parts[0] : concatBytes(e.parts, e.bytes)
		});
	}
	return out;
}

/**
 * Walks the local file headers as the bytes stream past, in step with fflate (which does not
 * expose them): each header's CRC-32 and declared size, then its data is skipped. An entry whose
 * flag bit 3 says "sizes and CRC follow the data" ends the walk: from there on sizes and CRCs are
 * unknown (null) and only the hard cap applies.
 */
class LocalHeaderWalk {
	private readonly headers: { crc: number; size: number }[] = [];
	private taken = 0;
	private skip = 0;
	private head = new Uint8Array(30);
	private filled = 0;
	private stopped = false;

	feed(chunk: Uint8Array): void {
		let i = 0;
		while (i < chunk.length && !this.stopped) {
			if (this.skip > 0) {
				const n = Math.min(this.skip, chunk.length - i);
				this.skip -= n;
				i += n;
				continue;
			}
			const n = Math.min(30 - this.filled, chunk.length - i);
			this.head.set(chunk.subarray(i, i + n), this.filled);
			this.filled += n;
			i += n;
			if (this.filled < 30) return;
			this.filled = 0;
			const v = new DataView(this.head.buffer);
			const compressed = v.getUint32(18, true);
			if (
				v.getUint32(0, true) !== 0x04034b50 ||
				v.getUint16(6, true) & 8 ||
				compressed === 0xffffffff
			) {
				this.stopped = true;
				return;
			}
			this.headers.push({ crc: v.getUint32(14, true), size: v.getUint32(22, true) });
			this.skip = v.getUint16(26, true) + v.getUint16(28, true) + compressed;
		}
	}

	/** The next entry's header facts, in the order fflate reports the entries. */
	next(): { crc: number; size: number } | null {
		return this.headers[this.taken++] ?? null;
	}
}
