import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { en, ja } from '../../src/lib/i18n/messages';

// Every page at a phone's width and a laptop's, in English and Japanese (issue 15): no horizontal
// overflow, no serious or critical accessibility violation (axe-core), and in Japanese no English
// string from the message table on screen.
const ROUTES = [
	'/',
	'/chat',
	'/studio',
	'/studio/characters',
	'/studio/generate',
	'/studio/judge',
	'/studio/review',
	'/studio/datasets',
	'/train',
	'/adapters',
	'/settings'
];
const WIDTHS = [390, 1280];

/**
 * Known failures on pages whose owners are fixing them in this round (issue 15; ui-train owns
 * /train, ui-studio the /studio pages). Remove an entry once its page is fixed.
 */
const KNOWN = {
	overflow: new Set<string>(),
	axe: {} as Record<string, string[]>,
	// a curated English dataset's name ("Socrates: single exchanges (curated)"), not a UI string
	english: { '/studio/datasets': ['single exchanges'], '/train': ['single exchanges'] } as Record<
		string,
		string[]
	>
};
const LOCALES = ['en', 'ja'] as const;

async function open(page: Page, route: string, locale: 'en' | 'ja', width: number) {
	await page.setViewportSize({ width, height: 900 });
	await page.addInitScript((l) => localStorage.setItem('mondo.locale', l), locale);
	await page.goto(route);
	await expect(page.locator('main h1').first()).toBeVisible();
	// pages render after the curated content is seeded and their data is read
	await page.waitForLoadState('networkidle');
	await page.waitForTimeout(300);
}

/**
 * Message-table English that must not show in Japanese: phrases (two or more words, 8+ characters)
 * anywhere in the page's text, single words (4+ letters) as the whole text of an element (a label,
 * a button, a heading — not a word inside a user's or a curated English character's text). Brand and
 * format names kept in the Japanese text too (Mondō Studio, LoRA, JSONL) are not English strings.
 */
function englishStrings(): { key: string; text: string; phrase: boolean }[] {
	const jaText = Object.values(ja).join('\n');
	const out: { key: string; text: string; phrase: boolean }[] = [];
	for (const [key, value] of Object.entries(en)) {
		if (ja[key as keyof typeof ja] === value) continue;
		for (const part of value.split(/\{[^}]+\}/)) {
			const text = part.trim();
			if (jaText.includes(text) || !/[a-z]{3}/i.test(text)) continue;
			const phrase = /\s/.test(text);
			if ((phrase && text.length >= 8) || (!phrase && /^[A-Za-z][A-Za-z’']{3,}$/.test(text)))
				out.push({ key, text, phrase });
		}
	}
	return out;
}

for (const route of ROUTES)
	for (const locale of LOCALES) {
		test(`${route} in ${locale}: no horizontal overflow at ${WIDTHS.join(' and ')} px`, async ({
			page
		}) => {
			test.skip(KNOWN.overflow.has(`${route} ${locale}`), 'known: its owner is fixing it');
			for (const width of WIDTHS) {
				await open(page, route, locale, width);
				const sizes = await page.evaluate(() => ({
					scroll: document.scrollingElement!.scrollWidth,
					inner: window.innerWidth
				}));
				expect(sizes.scroll, `${route} ${locale} at ${width}px`).toBeLessThanOrEqual(sizes.inner);
				// every navigation link on screen, none cut off
				const navCut = await page.evaluate(() =>
					[...document.querySelectorAll('nav a')]
						.filter((a) => a.getBoundingClientRect().right > window.innerWidth)
						.map((a) => a.textContent)
				);
				expect(navCut, `${route} ${locale} at ${width}px`).toEqual([]);
				// no button label broken into a column of single characters
				const columns = await page.evaluate(() =>
					[...document.querySelectorAll<HTMLElement>('button, a.button')]
						.filter((b) => b.offsetParent !== null && [...b.innerText.trim()].length >= 2)
						.filter((b) => {
							// a column: two or more lines of text in a box under two characters wide
							const cs = getComputedStyle(b);
							const px = (v: string) => parseFloat(v) || 0;
							const em = px(cs.fontSize);
							const r = b.getBoundingClientRect();
							const width = r.width - px(cs.paddingLeft) - px(cs.paddingRight);
							const height = r.height - px(cs.paddingTop) - px(cs.paddingBottom);
							const lineHeight = px(cs.lineHeight) || em * 1.5;
							return height >= 1.8 * lineHeight && width < 1.6 * em;
						})
						.map((b) => b.innerText.trim())
				);
				expect(columns, `${route} ${locale} at ${width}px`).toEqual([]);
			}
		});
	}

for (const route of ROUTES)
	test(`${route}: no serious or critical accessibility violations (axe-core)`, async ({ page }) => {
		for (const locale of LOCALES) {
			await open(page, route, locale, 1280);
			const results = await new AxeBuilder({ page }).analyze();
			const bad = results.violations
				.filter((v) => v.impact === 'serious' || v.impact === 'critical')
				.filter((v) => !KNOWN.axe[route]?.includes(v.id))
				.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
			expect(bad, `${route} ${locale}`).toEqual([]);
		}
	});

for (const route of ROUTES)
	test(`${route} in Japanese shows no English from the message table`, async ({ page }) => {
		await open(page, route, 'ja', 1280);
		// open every <details> so folded text is checked too
		await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
		const { body, own } = await page.evaluate(() => {
			const own: string[] = [];
			for (const el of document.querySelectorAll<HTMLElement>('body *'))
				if ([...el.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim()))
					own.push(el.innerText.trim());
			return { body: document.body.innerText, own };
		});
		const ownSet = new Set(own);
		const found = englishStrings()
			.filter((f) => (f.phrase ? body.includes(f.text) : ownSet.has(f.text)))
			.filter((f) => !KNOWN.english[route]?.includes(f.text));
		expect(found.map((f) => `${f.key}: ${f.text}`)).toEqual([]);
	});
