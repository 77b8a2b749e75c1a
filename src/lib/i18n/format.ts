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

/** A duration for people in the UI language: "45 sec", "3 min 20 sec", "2 hr 9 min" / "2 時間 9 分"; "—" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
	const unit = (n: number, u: 'second' | 'minute' | 'hour') =>
		new Intl.NumberFormat(tag(), { style: 'unit', unit: u, unitDisplay: 'short' }).format(n);
	const s = Math.max(0, Math.round(seconds));
	if (s < 60) return unit(s, 'second');
	if (s < 3600) {
		const m = Math.floor(s / 60);
		return s % 60 && m < 10
			? `${unit(m, 'minute')} ${unit(s % 60, 'second')}`
			: unit(Math.round(s / 60), 'minute');
	}
	const h = Math.floor(s / 3600);
	const m = Math.round((s % 3600) / 60);
	return m ? `${unit(h, 'hour')} ${unit(m, 'minute')}` : unit(h, 'hour');
}
