/**
 * A small GGUF v3 writer (little-endian), laid out byte for byte as gguf-py's GGUFWriter writes a
 * single-file model (docs/GGUF-LORA.md):
 *
 *   magic "GGUF" · u32 version 3 · u64 tensor count · u64 KV count
 *   KV pairs, in the order given: string key · u32 value type · value
 *   tensor infos: string name · u32 n_dims · u64 dims (ggml order: innermost first) · u32 ggml type ·
 *     u64 offset of the tensor's data from the start of the data section
 *   zero padding to the alignment · each tensor's data followed by zero padding to the alignment
 *
 * Strings are u64 byte length + UTF-8 bytes (no terminator). The alignment is 32 bytes unless
 * `general.alignment` (u32, a power of two) is among the KV pairs; gguf-py writes that key only for a
 * custom alignment, and so does this writer's caller.
 */

/** GGUF metadata value types (gguf-py GGUFValueType). */
export const GGUF_TYPE = {
	UINT8: 0,
	INT8: 1,
	UINT16: 2,
	INT16: 3,
	UINT32: 4,
	INT32: 5,
	FLOAT32: 6,
	BOOL: 7,
	STRING: 8,
	ARRAY: 9,
	UINT64: 10,
	INT64: 11,
	FLOAT64: 12
} as const;

export type GgufScalarType = Exclude<keyof typeof GGUF_TYPE, 'ARRAY'>;

/** The ggml tensor types this writer stores (ggml_type numbers). */
export const GGML_TYPE = { F32: 0, F16: 1 } as const;
export type GgmlTensorType = keyof typeof GGML_TYPE;

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_ALIGNMENT_KEY = 'general.alignment';

export type GgufValue = number | bigint | boolean | string;

export type GgufKv =
	| { key: string; type: GgufScalarType; value: GgufValue }
	| { key: string; type: 'ARRAY'; itemType: GgufScalarType; value: GgufValue[] };

export interface GgufTensor {
	name: string;
	/** Row-major (numpy) shape, outermost first; written reversed, as ggml's ne[]. */
	shape: number[];
	type: GgmlTensorType;
	/** F32: the values; F16: IEEE half bits. */
	data: Float32Array | Uint16Array;
}

/** A GGUF file this writer cannot produce; names the key or tensor. */
export class GgufWriteError extends Error {
	constructor(
		readonly field: string,
		message: string
	) {
		super(`GGUF ${field}: ${message}`);
		this.name = 'GgufWriteError';
	}
}

const ELEMENT_BYTES: Record<GgmlTensorType, number> = { F32: 4, F16: 2 };

const pad = (n: number, align: number) => Math.ceil(n / align) * align;

type GgufNumberType = Exclude<GgufScalarType, 'STRING' | 'BOOL'>;
type DataViewSetter = Extract<keyof DataView, `set${string}`>;

/** Bytes and DataView setter of each GGUF number type. */
const NUMBER_LAYOUT: Record<GgufNumberType, [number, DataViewSetter]> = {
	UINT8: [1, 'setUint8'],
	INT8: [1, 'setInt8'],
	UINT16: [2, 'setUint16'],
	INT16: [2, 'setInt16'],
	UINT32: [4, 'setUint32'],
	INT32: [4, 'setInt32'],
	FLOAT32: [4, 'setFloat32'],
	FLOAT64: [8, 'setFloat64'],
	UINT64: [8, 'setBigUint64'],
	INT64: [8, 'setBigInt64']
};

/** Growable little-endian byte sink. */
class Sink {
	private buf = new Uint8Array(1024);
	private view = new DataView(this.buf.buffer);
	length = 0;

	private reserve(n: number): number {
		if (this.length + n > this.buf.length) {
			const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
			bigger.set(this.buf.subarray(0, this.length));
			this.buf = bigger;
			this.view = new DataView(bigger.buffer);
		}
		const at = this.length;
		this.length += n;
		return at;
	}
	/** One little-endian number of a GGUF scalar type. */
	number(type: GgufNumberType, v: number | bigint) {
		const [bytes, setter] = NUMBER_LAYOUT[type];
		const at = this.reserve(bytes);
		(this.view[setter] as (at: number, v: number | bigint, littleEndian: boolean) => void).call(
			this.view,
			at,
			v,
			true
		);
	}
	u32(v: number) {
		this.number('UINT32', v);
	}
	u64(v: number | bigint) {
		this.number('UINT64', BigInt(v));
	}
	bytes(b: Uint8Array) {
		const at = this.reserve(b.length);
		this.buf.set(b, at);
	}
	zeros(n: number) {
		this.reserve(n); // fresh bytes are zero
	}
	string(s: string) {
		const b = new TextEncoder().encode(s);
		this.u64(b.length);
		this.bytes(b);
	}
	result(): Uint8Array {
		return this.buf.slice(0, this.length);
	}
}

const INT_RANGES: Partial<Record<GgufScalarType, [number, number]>> = {
	UINT8: [0, 0xff],
	INT8: [-0x80, 0x7f],
	UINT16: [0, 0xffff],
	INT16: [-0x8000, 0x7fff],
	UINT32: [0, 0xffffffff],
	INT32: [-0x80000000, 0x7fffffff]
};

function writeScalar(out: Sink, key: string, type: GgufScalarType, v: GgufValue): void {
	const bad = (what: string): never => {
		throw new GgufWriteError(key, `${JSON.stringify(String(v))} is not ${what}`);
	};
	if (type === 'STRING') return typeof v === 'string' ? out.string(v) : bad('a string');
	if (type === 'BOOL')
		return typeof v === 'boolean' ? out.number('UINT8', v ? 1 : 0) : bad('true or false');
	if (type === 'UINT64' || type === 'INT64') {
		if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isSafeInteger(v)))
			bad('an integer');
		const big = BigInt(v as number | bigint);
		if (type === 'UINT64' ? big < 0n || big >= 1n << 64n : big < -(1n << 63n) || big >= 1n << 63n)
			bad(`in the ${type} range`);
		return out.number(type, big);
	}
	if (typeof v !== 'number') return bad('a number');
	if (type === 'FLOAT32' || type === 'FLOAT64') return out.number(type, v);
	const [lo, hi] = INT_RANGES[type]!;
	if (!Number.isInteger(v) || v < lo || v > hi) bad(`an integer in the ${type} range`);
	out.number(type, v);
}

/** The data alignment the KV pairs ask for (general.alignment), else 32. */
export function ggufAlignment(kv: GgufKv[]): number {
	const a = kv.find((k) => k.key === GGUF_ALIGNMENT_KEY);
	if (!a) return GGUF_DEFAULT_ALIGNMENT;
	const v = a.value;
	if (a.type !== 'UINT32' || typeof v !== 'number' || v <= 0 || (v & (v - 1)) !== 0)
		throw new GgufWriteError(GGUF_ALIGNMENT_KEY, 'must be a UINT32 power of two');
	return v;
}

/** The whole file. Keys and tensor names must be unique; tensor data must match its shape. */
export function writeGguf(kv: GgufKv[], tensors: GgufTensor[]): Uint8Array {
	const align = ggufAlignment(kv);
	const keys = new Set<string>();
	for (const k of kv) {
		if (keys.has(k.key)) throw new GgufWriteError(k.key, 'key written twice');
		keys.add(k.key);
	}
	const names = new Set<string>();
	const sizes = tensors.map((t) => {
		if (names.has(t.name)) throw new GgufWriteError(t.name, 'tensor written twice');
		names.add(t.name);
		const count = t.shape.reduce((a, b) => a * b, 1);
		if (t.shape.some((d) => !Number.isInteger(d) || d < 0))
			throw new GgufWriteError(t.name, `shape [${t.shape.join(', ')}] is not a list of sizes`);
		const want = t.type === 'F32' ? Float32Array : Uint16Array;
		if (!(t.data instanceof want) || t.data.length !== count)
			throw new GgufWriteError(
				t.name,
				`${t.type} data must be a ${want.name} of ${count} values (shape [${t.shape.join(', ')}])`
			);
		return count * ELEMENT_BYTES[t.type];
	});

	const out = new Sink();
	out.u32(GGUF_MAGIC);
	out.u32(GGUF_VERSION);
	out.u64(tensors.length);
	out.u64(kv.length);
	for (const k of kv) {
		out.string(k.key);
		out.u32(GGUF_TYPE[k.type]);
		if (k.type === 'ARRAY') {
			if (k.value.length === 0) throw new GgufWriteError(k.key, 'an array may not be empty');
			out.u32(GGUF_TYPE[k.itemType]);
			out.u64(k.value.length);
			for (const v of k.value) writeScalar(out, k.key, k.itemType, v);
		} else writeScalar(out, k.key, k.type, k.value);
	}
	let offset = 0;
	tensors.forEach((t, i) => {
		out.string(t.name);
		out.u32(t.shape.length);
		for (let d = t.shape.length - 1; d >= 0; d--) out.u64(t.shape[d]);
		out.u32(GGML_TYPE[t.type]);
		out.u64(offset);
		offset += pad(sizes[i], align);
	});
	out.zeros(pad(out.length, align) - out.length);
	tensors.forEach((t, i) => {
		out.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, sizes[i]));
		out.zeros(pad(sizes[i], align) - sizes[i]);
	});
	return out.result();
}
