/**
 * A small i18n layer: the current locale is reactive state (Svelte 5 runes), remembered in
 * localStorage (read synchronously at start, so the first paint is already in the right language).
 */
import { dictionaries, en, type Locale, type MessageKey } from './messages';

const STORAGE_KEY = 'mondo.locale';

function initialLocale(): Locale {
	const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
	if (saved === 'en' || saved === 'ja') return saved;
	const nav = globalThis.navigator?.language ?? 'en';
	return nav.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

const state = $state({ locale: initialLocale() });

export const i18n = {
	get locale(): Locale {
		return state.locale;
	},
	set locale(value: Locale) {
		state.locale = value;
		globalThis.localStorage?.setItem(STORAGE_KEY, value);
		if (globalThis.document) document.documentElement.lang = value;
	}
};

/** Translate a key, replacing `{name}` placeholders. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
	let text: string = dictionaries[state.locale][key] ?? en[key] ?? key;
	if (params)
		for (const [k, v] of Object.entries(params)) text = text.replaceAll(`{${k}}`, String(v));
	return text;
}
