import { afterEach, describe, expect, it } from 'vitest';
import { i18n } from '../../src/lib/i18n/index.svelte';
import { formatDate, formatNumber, plural } from '../../src/lib/i18n/format';

afterEach(() => {
	i18n.locale = 'en';
});

describe('counts and dates in the UI language', () => {
	it('picks the plural form with Intl.PluralRules (no "1 dialogues")', () => {
		i18n.locale = 'en';
		expect(plural('judge.willJudgeCount', 1)).toBe('1 dialogue will be judged.');
		expect(plural('judge.willJudgeCount', 2)).toBe('2 dialogues will be judged.');
		expect(plural('judge.willJudgeCount', 0)).toBe('0 dialogues will be judged.');
		expect(plural('generate.progressCount', 1, { done: 0 })).toBe('0 / 1 dialogue');
		i18n.locale = 'ja';
		expect(plural('judge.willJudgeCount', 1)).toBe('1 件の対話を採点します。');
	});

	it('groups digits and writes dates the way the UI language does', () => {
		i18n.locale = 'en';
		expect(formatNumber(12345)).toBe('12,345');
		const time = Date.UTC(2026, 11, 3, 9, 41);
		expect(formatDate(time)).toBe(
			new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(time)
		);
		i18n.locale = 'ja';
		expect(formatDate(time)).toMatch(/^2026\/12\/0?3/);
	});
});
