/**
 * Numbers, counts and dates in the UI language through `Intl` (no hand-written "s" endings, no
 * en-US dates in Japanese mode).
 *
 * A counted message has one key per plural category the English text needs, `${key}.one` and
 * `${key}.other` (Japanese has only "other" but keeps the same keys, so both dictionaries stay
 * identical in shape); `plural(key, n)` picks the category with `Intl.PluralRules`.
 */
import { en, type MessageKey } from './messages';
import { i18n, t } from './index.svelte';

/** `n` with the UI language's digit grouping ("1,234"). */
export function formatNumber(n: number, options?: Intl.NumberFormatOptions): string {
	return new Intl.NumberFormat(i18n.locale, options).format(n);
}

/** A message with a count: `${key}.${Intl plural category}` (else `${key}.other`), `{count}` filled. */
export function plural(
	key: string,
	count: number,
	params: Record<string, string | number> = {}
): string {
	const category = new Intl.PluralRules(i18n.locale).select(count);
	const exact = `${key}.${category}`;
	const chosen = (exact in en ? exact : `${key}.other`) as MessageKey;
	return t(chosen, { count: formatNumber(count), ...params });
}

/** A date and time in the UI language ("3 Dec 2026, 09:41" / "2026/12/03 9:41"). */
export function formatDate(time: number | Date): string {
	return new Intl.DateTimeFormat(i18n.locale, { dateStyle: 'medium', timeStyle: 'short' }).format(
		time
	);
}
