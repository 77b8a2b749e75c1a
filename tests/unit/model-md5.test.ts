import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Md5, md5Hex } from '../../src/lib/model/md5';

describe('md5', () => {
	it('matches the RFC 1321 test suite', () => {
		const suite: [string, string][] = [
			['', 'd41d8cd98f00b204e9800998ecf8427e'],
			['a', '0cc175b9c0f1b6a831c399e269772661'],
			['abc', '900150983cd24fb0d6963f7d28e17f72'],
			['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
			['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
			[
				'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
				'd174ab98d277d9f5a5611c2c9f419d9f'
			],
			[
				'12345678901234567890123456789012345678901234567890123456789012345678901234567890',
				'57edf4a22be3c955ac49da2e2107b67a'
			]
		];
		for (const [text, digest] of suite) expect(md5Hex(new TextEncoder().encode(text))).toBe(digest);
	});

	it('gives the same digest fed in pieces of any size (across 64-byte block edges) as node:crypto', () => {
		const data = new Uint8Array(1000);
		for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 255;
		const expected = createHash('md5').update(data).digest('hex');
		for (const step of [1, 3, 55, 56, 63, 64, 65, 200]) {
			const md5 = new Md5();
			for (let i = 0; i < data.length; i += step) md5.update(data.subarray(i, i + step));
			expect(md5.digestHex()).toBe(expected);
		}
	});
});
