/**
 * A one-node ONNX model, `com.microsoft.MatMulNBits` (4-bit blockwise-quantized B), written as
 * protobuf bytes by a tiny encoder of our own (no protobuf library): only the fields of onnx.proto
 * such a model needs. Used by the bench's MatMulNBits race (race.ts), which gives the same weights
 * to our q4 GEMV/GEMM and to onnxruntime-web.
 *
 *   Y [M, N] = A [M, K] · dequant(B)ᵀ,  dequant(B)[n, k] = (q[n, k] − zp) · scales[n, k / 32]
 *
 * B is uint8 [N, K/32, 16]: the 32 4-bit codes of a block, two per byte, the lower nibble first —
 * byte for byte MLC's q4 words (u32 [N, K/8], 8 nibbles lowest bits first, little-endian). Without
 * `zeroPoints` ORT takes zp = 8; MLC's codes are centred on 7 (see mlcToMatMulNBits).
 */

/** onnx.proto TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_UINT8 = 2;
export const ONNX_FLOAT16 = 10;

/** Protobuf writer: varints, length-delimited fields, nested messages. */
class Writer {
	private parts: Uint8Array[] = [];
	private size = 0;

	private push(b: Uint8Array): void {
		this.parts.push(b);
		this.size += b.length;
	}

	private varint(v: number): void {
		if (!Number.isSafeInteger(v) || v < 0) throw new Error(`onnx-model: bad varint ${v}`);
		const out: number[] = [];
		while (v >= 0x80) {
			out.push((v % 0x80) | 0x80);
			v = Math.floor(v / 0x80);
		}
		out.push(v);
		this.push(Uint8Array.from(out));
	}

	/** Wire type 0 (int32, int64, enum). */
	int(field: number, v: number): this {
		this.varint(field * 8);
		this.varint(v);
		return this;
	}

	/** Wire type 2: bytes, a string, or a nested message. */
	bytes(field: number, v: Uint8Array | string | Writer): this {
		const b =
			typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof Writer ? v.finish() : v;
		this.varint(field * 8 + 2);
		this.varint(b.length);
		this.push(b);
		return this;
	}

	finish(): Uint8Array {
		const out = new Uint8Array(this.size);
		let o = 0;
		for (const p of this.parts) {
			out.set(p, o);
			o += p.length;
		}
		return out;
	}
}

/** A constant input of the graph. */
export interface OnnxInitializer {
	name: string;
	dataType: number;
	dims: number[];
	/** Little-endian element bytes (TensorProto.raw_data). */
	data: Uint8Array;
}

/** TensorShapeProto; a string dimension is symbolic (dim_param). */
function valueInfo(name: string, elemType: number, dims: (number | string)[]): Writer {
	const shape = new Writer();
	for (const d of dims)
		shape.bytes(1, typeof d === 'string' ? new Writer().bytes(2, d) : new Writer().int(1, d));
	const tensor = new Writer().int(1, elemType).bytes(2, shape);
	return new Writer().bytes(1, name).bytes(2, new Writer().bytes(1, tensor));
}

function initializer(t: OnnxInitializer): Writer {
	const w = new Writer();
	for (const d of t.dims) w.int(1, d);
	return w.int(2, t.dataType).bytes(8, t.name).bytes(9, t.data);
}

/** AttributeProto of type INT (2). */
function intAttribute(name: string, v: number): Writer {
	return new Writer().bytes(1, name).int(3, v).int(20, 2);
}

export interface MatMulNBitsModel {
	K: number;
	N: number;
	/** A's (and Y's) element type: ONNX_FLOAT or ONNX_FLOAT16; scales have the same type. */
	dataType: number;
	/** uint8 [N, K/32, 16]. */
	b: Uint8Array;
	/** [N, K/32] elements of `dataType`, as bytes. */
	scales: Uint8Array;
	/** Optional uint8 [N, ceil(K/32 / 2)]: two 4-bit zero points per byte, lower nibble first. */
	zeroPoints?: Uint8Array;
	/** MatMulNBits' accuracy_level (0: unset; 4: int8 A on CPU). */
	accuracyLevel?: number;
}

export const MATMUL_NBITS_BLOCK = 32;

/**
 * ModelProto bytes: inputs A [M, K] (M symbolic), output Y [M, N], B/scales(/zero_points) as
 * initializers; IR version 8, opsets '' 17 and com.microsoft 1.
 */
export function matMulNBitsModel(m: MatMulNBitsModel): Uint8Array {
	const { K, N, dataType } = m;
	const blocks = K / MATMUL_NBITS_BLOCK;
	if (!Number.isInteger(blocks) || blocks < 1)
		throw new Error(`onnx-model: K must be a positive multiple of 32, got ${K}`);
	const elem = dataType === ONNX_FLOAT ? 4 : dataType === ONNX_FLOAT16 ? 2 : 0;
	if (!elem) throw new Error(`onnx-model: dataType must be FLOAT or FLOAT16, got ${dataType}`);
	const expect = (what: string, got: number, want: number) => {
		if (got !== want) throw new Error(`onnx-model: ${what} has ${got} bytes, expected ${want}`);
	};
	expect('B', m.b.length, N * blocks * 16);
	expect('scales', m.scales.length, N * blocks * elem);
	const inits: OnnxInitializer[] = [
		{ name: 'B', dataType: ONNX_UINT8, dims: [N, blocks, 16], data: m.b },
		{ name: 'scales', dataType, dims: [N * blocks], data: m.scales }
	];
	const inputs = ['A', 'B', 'scales'];
	if (m.zeroPoints) {
		expect('zero_points', m.zeroPoints.length, N * Math.ceil(blocks / 2));
		inits.push({
			name: 'zero_points',
			dataType: ONNX_UINT8,
			dims: [N * Math.ceil(blocks / 2)],
			data: m.zeroPoints
		});
		inputs.push('zero_points');
	}
	const node = new Writer();
	for (const i of inputs) node.bytes(1, i);
	node.bytes(2, 'Y').bytes(3, 'matmul_nbits').bytes(4, 'MatMulNBits');
	for (const [k, v] of [
		['K', K],
		['N', N],
		['bits', 4],
		['block_size', MATMUL_NBITS_BLOCK],
		['accuracy_level', m.accuracyLevel ?? 0]
	] as const)
		node.bytes(5, intAttribute(k, v));
	node.bytes(7, 'com.microsoft');
	const graph = new Writer().bytes(1, node).bytes(2, 'matmul_nbits_race');
	for (const t of inits) graph.bytes(5, initializer(t));
	graph.bytes(11, valueInfo('A', dataType, ['M', K]));
	graph.bytes(12, valueInfo('Y', dataType, ['M', N]));
	return new Writer()
		.int(1, 8) // ir_version
		.bytes(2, 'mondo-studio bench')
		.bytes(7, graph)
		.bytes(8, new Writer().bytes(1, '').int(2, 17))
		.bytes(8, new Writer().bytes(1, 'com.microsoft').int(2, 1))
		.finish();
}

/**
 * MLC q4 weights → MatMulNBits' B without zero points: MLC's w = (q − 7) · s becomes ORT's
 * (q' − 8) · s with q' = q + 1, so the same values come out and ORT takes its default
 * (fastest) path. Needs every code ≤ 14 (the bench's random weights are); the bytes of a q4 word
 * array are otherwise B's layout unchanged.
 */
export function mlcToMatMulNBits(qweight: Uint32Array): Uint8Array {
	const out = new Uint8Array(qweight.length * 4);
	const src = new Uint8Array(qweight.buffer, qweight.byteOffset, qweight.byteLength);
	for (let i = 0; i < src.length; i++) {
		const lo = src[i] & 15;
		const hi = src[i] >> 4;
		if (lo === 15 || hi === 15)
			throw new Error(`mlcToMatMulNBits: code 15 at byte ${i} has no zero-point-8 equivalent`);
		out[i] = (lo + 1) | ((hi + 1) << 4);
	}
	return out;
}
