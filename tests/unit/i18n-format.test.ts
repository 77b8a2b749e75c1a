import { afterEach, describe, expect, it } from 'vitest';
import { i18n } from '../../src/lib/i18n/index.svelte';
import { formatDate, formatDuration, formatNumber, plural } from '../../src/lib/i18n/format';

describe('numbers, plurals, dates and durations in the UI language', () => {
	afterEach(() => (i18n.locale = 'en'));

	it('"1 token", "2 tokens"; Japanese has one form', () => {
		i18n.locale = 'en';
		expect(plural(1, 'unit.tokens')).toBe('1 token');
		expect(plural(2, 'unit.tokens')).toBe('2 tokens');
		expect(plural(4096, 'unit.tokens')).toBe('4,096 tokens');
		i18n.locale = 'ja';
		expect(plural(1, 'unit.tokens')).toBe('1 トークン');
		expect(plural(2, 'unit.messages')).toBe('2 件のメッセージ');
	});

	it('formats dates and numbers by the UI language, not en-US always', () => {
		const d = new Date(2026, 11, 3, 14, 5);
		i18n.locale = 'en';
		expect(formatDate(d, { dateOnly: true })).toBe('Dec 3, 2026');
		i18n.locale = 'ja';
		expect(formatDate(d, { dateOnly: true })).toBe('2026/12/03');
		expect(formatNumber(1234.5)).toBe('1,234.5');
	});

	it('says durations in hours and minutes once they are long', () => {
		i18n.locale = 'en';
		expect(formatDuration(42)).toBe('42 sec');
		expect(formatDuration(200)).toBe('3 min 20 sec');
		expect(formatDuration(7742)).toBe('2 hr 9 min');
		expect(formatDuration(null)).toBe('—');
		i18n.locale = 'ja';
		expect(formatDuration(7742)).toBe('2 時間 9 分');
	});
});
