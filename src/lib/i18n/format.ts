/**
 * Numbers, dates and plurals in the UI language, through `Intl` (never en-US by default): "1 token"
 * / "2 tokens" in English, "1 トークン" in Japanese. A plural message is a pair of keys
 * `<base>.one` / `<base>.other` with a `{count}` placeholder (Japanese has no plural forms: both
 * keys hold the same text).
 */
import { i18n, t } from './index.svelte';
import type { MessageKey } from './messages';

const tag = () => (i18n.locale === 'ja' ? 'ja-JP' : 'en-US');

export function formatNumber(n: number, options?: Intl.NumberFormatOptions): string {
	return new Intl.NumberFormat(tag(), options).format(n);
}

/** A date (and time unless `dateOnly`) as people of the UI language write it. */
export function formatDate(value: number | Date, options: { dateOnly?: boolean } = {}): string {
	return new Intl.DateTimeFormat(tag(), {
		dateStyle: 'medium',
		...(options.dateOnly ? {} : { timeStyle: 'short' })
	}).format(value);
}

/** Plural base keys: every `<base>.one` that has a `<base>.other`. */
type PluralBase = {
	[K in MessageKey]: K extends `${infer B}.one`
		? `${B}.other` extends MessageKey
			? B
			: never
		: never;
}[MessageKey];

/** "{count} tokens" with the count formatted and the form the UI language's rules pick. */
export function plural(
	count: number,
	base: PluralBase,
	params: Record<string, string | number> = {}
): string {
	const rule = new Intl.PluralRules(tag()).select(count);
	const key = (rule === 'one' ? `${base}.one` : `${base}.other`) as MessageKey;
	return t(key, { ...params, count: formatNumber(count) });
}
