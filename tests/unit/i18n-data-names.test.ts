/**
 * Issue 15 · keys stored in data are shown in the UI language: the built-in rubrics' criterion keys
 * (tone, flow, personality) and the roles of dataset examples (user, model); the stored keys stay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { criterionName, roleName } from '../../src/lib/i18n/data-names';
import { i18n } from '../../src/lib/i18n/index.svelte';
import { BUILTIN_RUBRICS } from '../../src/lib/studio/rubrics';

describe('names of stored keys', () => {
	afterEach(() => (i18n.locale = 'en'));

	it('every built-in criterion key has a name in both languages, and the Japanese one is not English', () => {
		const keys = new Set(BUILTIN_RUBRICS.flatMap((r) => r.criteria.map((c) => c.key)));
		expect(keys.size).toBeGreaterThan(0);
		for (const key of keys) {
			i18n.locale = 'en';
			const english = criterionName(key);
			expect(english, key).not.toBe(key);
			i18n.locale = 'ja';
			expect(criterionName(key), key).not.toBe(english);
			expect(criterionName(key), key).not.toMatch(/[A-Za-z]/);
		}
	});

	it('words tone and flow, user and model in Japanese', () => {
		i18n.locale = 'ja';
		expect(criterionName('tone')).toBe('口調');
		expect(criterionName('flow')).toBe('流れ');
		expect(roleName('user')).toBe('ユーザー');
		expect(roleName('model')).toBe('モデル');
		i18n.locale = 'en';
		expect(roleName('user')).toBe('User');
	});

	it('a key a user made up is shown as written', () => {
		i18n.locale = 'ja';
		expect(criterionName('warmth')).toBe('warmth');
		expect(criterionName('constructor')).toBe('constructor');
		expect(roleName('assistant')).toBe('assistant');
	});
});
