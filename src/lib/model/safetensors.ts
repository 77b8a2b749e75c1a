/**
 * The safetensors container: `[u64 little-endian N][N bytes of JSON header][data]`.
 * Reader and writer, exactly as docs/specs/peft-files.md says: the header is padded with
 * spaces to a multiple of 8, `"__metadata__": {"format": "pt"}` is always written, and the data
 * offsets of the tensors, sorted, tile the data section (no gap, no overlap, nothing after).
 * Every rejection names the file and, where there is one, the tensor.
 */
import { ModelFormatError, tensorShape } from './config';
import { f16ToF32, f32ToF16 } from './weights';
import { JsonTextError, parseJsonText } from './json';

/** Bytes per element of every dtype the format defines. */
export const SAFETENSORS_DTYPE_BYTES = {
	F64: 8,
	F32: 4,
	F16: 2,
	BF16: 2,
	I64: 8,
	I32: 4,
	I16: 2,
	I8: 1,
	U64: 8,
	U32: 4,
	U16: 2,
	U8: 1,
	BOOL: 1,
	F8_E4M3: 1,
	F8_E5M2: 1
} as const;

export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BYTES;

export interface SafetensorsTensor {
	dtype: SafetensorsDtype;
	shape: number[];
	/** The tensor's bytes, a view into the file's buffer (not necessarily aligned). */
	bytes: Uint8Array;
}

export interface SafetensorsFile {
	/** In header order. */
	tensors: Map<string, SafetensorsTensor>;
	metadata: Record<string, string>;
}

/** The largest header we accept (the spec's limit), in bytes. */
export const MAX_HEADER_BYTES = 100_000_000;

function isDtype(v: unknown): v is SafetensorsDtype {
	return typeof v === 'string' && Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_BYTES, v);
}

/** Parse a safetensors file held in memory; `file` is the name used in error messages. */
export function parseSafetensors(input: ArrayBuffer | Uint8Array, file: string): SafetensorsFile {
	const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
	if (bytes.byteLength < 8)
		throw new ModelFormatError(
			file,
			null,
			`${bytes.byteLength} bytes is too short for a safetensors file (the header length alone is 8 bytes)`
		);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const headerLenLow = view.getUint32(0, true);
	const headerLenHigh = view.getUint32(4, true);
	const headerLen = headerLenHigh * 2 ** 32 + headerLenLow;
	if (headerLen > MAX_HEADER_BYTES)
		throw new ModelFormatError(
			file,
			'header',
			`header length ${headerLen} is larger than the 100 MB limit`
		);
	if (8 + headerLen > bytes.byteLength)
		throw new ModelFormatError(
			file,
			'header',
			`header length ${headerLen} is larger than the file (${bytes.byteLength} bytes): truncated or not safetensors`
		);
	let header: unknown;
	try {
		header = parseJsonText(
			new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen))
		);
	} catch (e) {
		const why = e instanceof JsonTextError ? e.message : `not UTF-8 (${(e as Error).message})`;
		throw new ModelFormatError(file, 'header', `header is ${why}`);
	}
	if (!header || typeof header !== 'object' || Array.isArray(header))
		throw new ModelFormatError(file, 'header', 'header is not a JSON object');

	const dataStart = 8 + headerLen;
	const dataLen = bytes.byteLength - dataStart;
	const metadata: Record<string, string> = {};
	const entries: {
		name: string;
		dtype: SafetensorsDtype;
		shape: number[];
		begin: number;
		end: number;
	}[] = [];
	for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
		if (name === '__metadata__') {
			if (!value || typeof value !== 'object' || Array.isArray(value))
				throw new ModelFormatError(file, '__metadata__', 'must be an object of strings');
			for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
				if (typeof v !== 'string')
					throw new ModelFormatError(
						file,
						`__metadata__.${k}`,
						`metadata values must be strings, got ${JSON.stringify(v)}`
					);
				metadata[k] = v;
			}
			continue;
		}
		const info = value as Record<string, unknown>;
		if (!info || typeof info !== 'object')
			throw new ModelFormatError(file, name, 'tensor entry is not an object');
		if (!isDtype(info.dtype))
			throw new ModelFormatError(file, name, `unknown dtype ${JSON.stringify(info.dtype)}`);
		const shape = tensorShape(file, name, info.shape);
		const offsets = info.data_offsets;
		if (
			!Array.isArray(offsets) ||
			offsets.length !== 2 ||
			!offsets.every((o) => Number.isInteger(o) && o >= 0)
		)
			throw new ModelFormatError(
				file,
				name,
				`data_offsets ${JSON.stringify(offsets)} is not [begin, end]`
			);
		const [begin, end] = offsets as [number, number];
		if (begin > end || end > dataLen)
			throw new ModelFormatError(
				file,
				name,
				`data_offsets [${begin}, ${end}] out of range of the ${dataLen}-byte data section${end > dataLen ? ' (file truncated?)' : ''}`
			);
		const expected = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[info.dtype];
		if (end - begin !== expected)
			throw new ModelFormatError(
				file,
				name,
				`shape [${shape.join(', ')}] × ${info.dtype} is ${expected} bytes but data_offsets span ${end - begin}`
			);
		entries.push({ name, dtype: info.dtype, shape, begin, end });
	}

	// Sorted by begin, the tensors must tile [0, dataLen) exactly.
	const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
	let cursor = 0;
	let previous: string | null = null;
	for (const e of sorted) {
		if (e.begin < cursor)
			throw new ModelFormatError(
				file,
				e.name,
				`data_offsets [${e.begin}, ${e.end}] overlap tensor ${previous}`
			);
		if (e.begin > cursor)
			throw new ModelFormatError(
				file,
				e.name,
				`gap of ${e.begin - cursor} bytes before data_offsets [${e.begin}, ${e.end}]${previous ? ` (after tensor ${previous})` : ''}`
			);
		cursor = e.end;
		previous = e.name;
	}
	if (cursor !== dataLen)
		throw new ModelFormatError(
			file,
			previous,
			`${dataLen - cursor} trailing bytes after the last tensor (data section is ${dataLen} bytes)`
		);

	const tensors = new Map<string, SafetensorsTensor>();
	for (const e of entries)
		tensors.set(e.name, {
			dtype: e.dtype,
			shape: e.shape,
			bytes: bytes.subarray(dataStart + e.begin, dataStart + e.end)
		});
	return { tensors, metadata };
}

/** bfloat16 bits → float (exact). */
export function bf16ToF32(bits: number): number {
	const u = new Uint32Array([bits << 16]);
	return new Float32Array(u.buffer)[0];
}

/** float → bfloat16 bits, round to nearest even (as torch and tvmjs do); NaN stays NaN. */
export function f32ToBf16(v: number): number {
	const f = new Float32Array([v]);
	const x = new Uint32Array(f.buffer)[0];
	if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
	return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Copy `bytes` into a fresh aligned buffer and view it as `ctor`. */
function aligned<T>(bytes: Uint8Array, ctor: new (b: ArrayBuffer) => T): T {
	const copy = new Uint8Array(bytes.byteLength);
	copy.set(bytes);
	return new ctor(copy.buffer);
}

/** Widen an F32/F16/BF16 tensor to a fresh Float32Array; other dtypes are an error naming file and tensor. */
export function tensorToF32(t: SafetensorsTensor, file: string, name: string): Float32Array {
	switch (t.dtype) {
		case 'F32':
			return aligned(t.bytes, Float32Array);
		case 'F16': {
			const bits = aligned(t.bytes, Uint16Array);
			const out = new Float32Array(bits.length);
			for (let i = 0; i < bits.length; i++) out[i] = f16ToF32(bits[i]);
			return out;
		}
		case 'BF16': {
			const bits = aligned(t.bytes, Uint16Array);
			const out = new Float32Array(bits.length);
			const asU32 = new Uint32Array(out.buffer);
			for (let i = 0; i < bits.length; i++) asU32[i] = bits[i] << 16;
			return out;
		}
		default:
			throw new ModelFormatError(
				file,
				name,
				`dtype ${t.dtype} cannot be read as floats (expected F32, F16 or BF16)`
			);
	}
}

export interface SafetensorsTensorToWrite {
	name: string;
	dtype: 'F32' | 'F16' | 'BF16';
	shape: number[];
	/** Values (converted to dtype, rounding to nearest even), or raw 16-bit patterns for F16/BF16. */
	data: Float32Array | Uint16Array;
}

/**
 * Serialize tensors (data in the order given) with `__metadata__` = {format: "pt", ...metadata}.
 * The header is padded with spaces to a multiple of 8 bytes.
 */
export function writeSafetensors(
	tensors: SafetensorsTensorToWrite[],
	metadata: Record<string, string> = {}
): Uint8Array {
	const header: Record<string, unknown> = { __metadata__: { ...metadata, format: 'pt' } };
	const payloads: Uint8Array[] = [];
	let offset = 0;
	const seen = new Set<string>();
	for (const t of tensors) {
		if (t.name === '__metadata__' || seen.has(t.name))
			throw new Error(
				`writeSafetensors: tensor name ${JSON.stringify(t.name)} is reserved or repeated`
			);
		seen.add(t.name);
		const count = t.shape.reduce((a, b) => a * b, 1);
		if (t.data.length !== count)
			throw new Error(
				`writeSafetensors: tensor ${t.name} has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`
			);
		let payload: Uint8Array;
		if (t.dtype === 'F32') {
			if (!(t.data instanceof Float32Array))
				throw new Error(
					`writeSafetensors: tensor ${t.name} is F32 but its data is not a Float32Array`
				);
			payload = new Uint8Array(
				t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)
			);
		} else {
			let bits: Uint16Array;
			if (t.data instanceof Uint16Array) bits = t.data;
			else {
				bits = new Uint16Array(count);
				const convert = t.dtype === 'F16' ? f32ToF16 : f32ToBf16;
				for (let i = 0; i < count; i++) bits[i] = convert(t.data[i]);
			}
			payload = new Uint8Array(
				bits.buffer.slice(bits.byteOffset, bits.byteOffset + bits.byteLength)
			);
		}
		header[t.name] = {
			dtype: t.dtype,
			shape: t.shape,
			data_offsets: [offset, offset + payload.byteLength]
		};
		payloads.push(payload);
		offset += payload.byteLength;
	}
	let json = JSON.stringify(header);
	const encoder = new TextEncoder();
	let headerBytes = encoder.encode(json);
	const padded = Math.ceil(headerBytes.byteLength / 8) * 8;
	if (padded !== headerBytes.byteLength) {
		json += ' '.repeat(padded - headerBytes.byteLength);
		headerBytes = encoder.encode(json);
	}
	const out = new Uint8Array(8 + headerBytes.byteLength + offset);
	const view = new DataView(out.buffer);
	view.setUint32(0, headerBytes.byteLength, true);
	view.setUint32(4, 0, true);
	out.set(headerBytes, 8);
	let at = 8 + headerBytes.byteLength;
	for (const p of payloads) {
		out.set(p, at);
		at += p.byteLength;
	}
	return out;
}
