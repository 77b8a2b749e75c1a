import { describe, expect, it } from 'vitest';
import { en, ja } from '../../src/lib/i18n/messages';

describe('i18n dictionaries', () => {
	it('Japanese has exactly the English keys, none empty', () => {
		expect(Object.keys(ja).sort()).toEqual(Object.keys(en).sort());
		for (const [k, v] of Object.entries(ja)) expect(v.trim(), k).not.toBe('');
	});
});
