import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/lib/model/config';
import {
	bf16ToF32,
	f32ToBf16,
	parseSafetensors,
	tensorToF32,
	writeSafetensors
} from '../../src/lib/model/safetensors';
import { f32ToF16 } from '../../src/lib/model/weights';

/** A safetensors file with a hand-written header (for malformed cases). */
function rawFile(
	header: unknown,
	dataBytes: number,
	headerText = JSON.stringify(header)
): Uint8Array {
	const h = new TextEncoder().encode(headerText);
	const out = new Uint8Array(8 + h.byteLength + dataBytes);
	new DataView(out.buffer).setUint32(0, h.byteLength, true);
	out.set(h, 8);
	return out;
}

function expectError(fn: () => unknown, ...fragments: string[]) {
	let error: unknown;
	try {
		fn();
	} catch (e) {
		error = e;
	}
	expect(error).toBeInstanceOf(ModelFormatError);
	for (const f of fragments) expect((error as Error).message).toContain(f);
}

describe('writeSafetensors / parseSafetensors', () => {
	const a = Float32Array.from([1, -2.5, 3.25, 1e-3, 65504, -0]);
	const b = Float32Array.from([0.1, 0.2, 0.3, 0.4]);

	it('round-trips F32 exactly, F16 and BF16 to the nearest value, with metadata', () => {
		const bytes = writeSafetensors(
			[
				{ name: 'a', dtype: 'F32', shape: [2, 3], data: a },
				{ name: 'b16', dtype: 'F16', shape: [4], data: b },
				{ name: 'bbf', dtype: 'BF16', shape: [2, 2], data: b }
			],
			{ run: 'r1' }
		);
		const file = parseSafetensors(bytes, 'x.safetensors');
		expect(file.metadata).toEqual({ run: 'r1', format: 'pt' });
		expect([...file.tensors.keys()]).toEqual(['a', 'b16', 'bbf']);
		expect(file.tensors.get('a')!.shape).toEqual([2, 3]);
		expect(tensorToF32(file.tensors.get('a')!, 'x', 'a')).toEqual(a);
		const f16 = tensorToF32(file.tensors.get('b16')!, 'x', 'b16');
		const bf = tensorToF32(file.tensors.get('bbf')!, 'x', 'bbf');
		for (let i = 0; i < 4; i++) {
			expect(Math.abs(f16[i] - b[i])).toBeLessThan(b[i] * 2 ** -11);
			expect(Math.abs(bf[i] - b[i])).toBeLessThan(b[i] * 2 ** -8);
			expect(bf[i]).toBe(bf16ToF32(f32ToBf16(b[i])));
		}
	});

	it('writes the header as the spec says: padded with spaces to 8, __metadata__ format pt, offsets tiling the data', () => {
		const bytes = writeSafetensors([
			{ name: 'x', dtype: 'F32', shape: [3], data: new Float32Array(3) },
			{ name: 'y', dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) }
		]);
		const n = new DataView(bytes.buffer).getUint32(0, true);
		expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(0);
		expect(n % 8).toBe(0);
		const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
		expect(text.trimEnd().length).toBeLessThanOrEqual(n);
		expect(/^[^ ]*\}( *)$/.test(text)).toBe(true);
		const header = JSON.parse(text);
		expect(header.__metadata__).toEqual({ format: 'pt' });
		expect(header.x).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
		expect(header.y).toEqual({ dtype: 'BF16', shape: [1], data_offsets: [12, 14] });
		expect(bytes.byteLength).toBe(8 + n + 14);
		expect(tensorToF32(parseSafetensors(bytes, 'f').tensors.get('y')!, 'f', 'y')[0]).toBe(1);
	});

	it('rounds F16 and BF16 to nearest even', () => {
		expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
		expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
		expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00);
	});

	it('reads zero-size tensors and integer dtypes as raw bytes', () => {
		const file = parseSafetensors(
			rawFile(
				{
					e: { dtype: 'F32', shape: [0, 4], data_offsets: [0, 0] },
					i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] }
				},
				8
			),
			'ints.safetensors'
		);
		expect(file.tensors.get('e')!.bytes.byteLength).toBe(0);
		expect(file.tensors.get('i')!.dtype).toBe('I64');
		expectError(
			() => tensorToF32(file.tensors.get('i')!, 'ints.safetensors', 'i'),
			'ints.safetensors',
			'i',
			'I64'
		);
	});
});

describe('parseSafetensors rejects malformed files, naming the file and the tensor', () => {
	const F = 'adapter_model.safetensors';
	it('file shorter than the length prefix', () =>
		expectError(() => parseSafetensors(new Uint8Array(5), F), F, 'too short'));
	it('header length larger than the file', () => {
		const bytes = rawFile({}, 0);
		new DataView(bytes.buffer).setUint32(0, 1000, true);
		expectError(() => parseSafetensors(bytes, F), F, 'header length 1000', 'larger than the file');
	});
	it('header length larger than 100 MB', () => {
		const bytes = rawFile({}, 0);
		new DataView(bytes.buffer).setUint32(0, 100_000_001, true);
		expectError(() => parseSafetensors(bytes, F), F, '100 MB');
		new DataView(bytes.buffer).setUint32(4, 1, true);
		expectError(() => parseSafetensors(bytes, F), F, '100 MB');
	});
	it('non-JSON header', () =>
		expectError(() => parseSafetensors(rawFile(null, 0, '{"a": [1, 2'), F), F, 'not valid JSON'));
	it('header that is not an object', () =>
		expectError(() => parseSafetensors(rawFile([1], 0), F), F, 'not a JSON object'));
	it('offsets out of range', () =>
		expectError(
			() =>
				parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), F),
			F,
			'(w)',
			'out of range'
		));
	it('overlapping offsets', () =>
		expectError(
			() =>
				parseSafetensors(
					rawFile(
						{
							a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
							b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] }
						},
						12
					),
					F
				),
			F,
			'(b)',
			'overlap tensor a'
		));
	it('a gap between tensors', () =>
		expectError(
			() =>
				parseSafetensors(
					rawFile(
						{
							a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
							b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }
						},
						12
					),
					F
				),
			F,
			'(b)',
			'gap of 4 bytes'
		));
	it('trailing bytes after the last tensor', () =>
		expectError(
			() =>
				parseSafetensors(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 6), F),
			F,
			'(a)',
			'2 trailing bytes'
		));
	it('shape × dtype size mismatch', () =>
		expectError(
			() =>
				parseSafetensors(rawFile({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 4] } }, 4), F),
			F,
			'(a)',
			'shape [3] × F16 is 6 bytes but data_offsets span 4'
		));
	it('unknown dtype', () =>
		expectError(
			() =>
				parseSafetensors(rawFile({ a: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, 4), F),
			F,
			'(a)',
			'unknown dtype "F12"'
		));
	it('non-string metadata', () =>
		expectError(
			() => parseSafetensors(rawFile({ __metadata__: { steps: 3 } }, 0), F),
			F,
			'__metadata__.steps'
		));
	it('a truncated file (data cut short)', () => {
		const good = writeSafetensors([
			{ name: 'w', dtype: 'F32', shape: [8], data: new Float32Array(8) }
		]);
		expectError(
			() => parseSafetensors(good.subarray(0, good.byteLength - 4), F),
			F,
			'(w)',
			'out of range'
		);
	});
});
