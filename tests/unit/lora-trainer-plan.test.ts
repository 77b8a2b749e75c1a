import { describe, expect, it } from 'vitest';
import { epochOrder } from '../../src/lib/training/trainer';

describe('trainer data order (epochOrder)', () => {
	it('shuffle false keeps the file order', () => {
		expect(epochOrder(6, 42, 0, false)).toEqual([0, 1, 2, 3, 4, 5]);
		expect(epochOrder(6, 42, 3, false)).toEqual([0, 1, 2, 3, 4, 5]);
	});

	it('is a permutation, the same for the same seed and epoch, another for another epoch or seed', () => {
		const a = epochOrder(50, 42, 0, true);
		expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
		expect(epochOrder(50, 42, 0, true)).toEqual(a);
		expect(epochOrder(50, 42, 1, true)).not.toEqual(a);
		expect(epochOrder(50, 7, 0, true)).not.toEqual(a);
	});
});
