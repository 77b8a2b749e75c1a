import { expect, test, type Page } from '@playwright/test';

/**
 * The data studio for a first-time user (issue 15): starting twice starts once, failures are counted
 * and worded for the page (with how to retry) and name dialogues as people know them, datasets can
 * be renamed and deleted with a confirmation, the Japanese judge page opens on a Japanese rubric,
 * each character card offers a chat, and no studio page overflows a 390 px screen in either language.
 * The tiny model's context is 256 tokens: long prompts overflow it on purpose.
 */

async function loadTinyModel(page: Page) {
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });
}

async function newCharacter(page: Page, name: string, prompt: string) {
	await page.getByTestId('character-new').click();
	await page.getByTestId('character-name').fill(name);
	await page.getByTestId('character-profile').fill('Wise.');
	await page.getByTestId('character-prompt').fill(prompt);
	await page.getByTestId('character-save').click();
	await expect(page.getByTestId('character-item-name').filter({ hasText: name })).toHaveCount(1);
}

/** Picks the character, the persona Ann and a new question "Why?"; one exchange of 4 tokens a side. */
async function planOneExchange(page: Page, character: string) {
	await page.getByTestId('gen-character').selectOption({ label: `${character} (en)` });
	await page.getByTestId('gen-persona-kind').selectOption('ordinary');
	await page.getByRole('checkbox', { name: 'Ann · Ordinary person' }).check();
	await page.getByPlaceholder('Add an opening question…').fill('Why?');
	await page.getByRole('button', { name: 'Add', exact: true }).click();
	await expect(page.getByTestId('gen-question')).toBeChecked();
	await page.getByTestId('gen-exchanges').fill('1');
	await page.getByText('Sampling per side').click();
	await page.getByTestId('gen-character-max').fill('4');
	await page.getByTestId('gen-user-max').fill('4');
}

test('double-click starts one generation job; failures keep what was made and say how to retry', async ({
	page
}) => {
	test.setTimeout(480_000);
	await page.goto('/studio/characters');
	await newCharacter(page, 'Sage', 'Be Sage.');
	await newCharacter(
		page,
		'Verbose',
		`Be Verbose. ${'Speak of virtue and its many names. '.repeat(60)}`
	);
	await page.getByTestId('persona-new').click();
	await page.getByTestId('persona-name').fill('Ann');
	await page.getByTestId('persona-description').fill('A student');
	await page.getByTestId('persona-save').click();

	await page.getByTestId('nav-generate').click();
	await loadTinyModel(page);
	await planOneExchange(page, 'Sage');
	// Invalid settings are named next to the field and keep the job from starting.
	await page.getByTestId('gen-exchanges').fill('0');
	await expect(page.getByTestId('gen-start')).toBeDisabled();
	await page.getByTestId('gen-exchanges').fill('1');
	await page.getByTestId('gen-character-max').fill('0');
	await expect(page.getByText('A whole number from 1 to 4096.')).toBeVisible();
	await expect(page.getByTestId('gen-start')).toBeDisabled();
	await page.getByTestId('gen-character-max').fill('4');

	await page.getByTestId('gen-start').dblclick();
	await expect(page.getByTestId('gen-done')).toBeVisible({ timeout: 180_000 });
	await expect(page.getByTestId('generated-dialogue')).toHaveCount(2);
	await expect(page.getByTestId('job-item')).toHaveCount(1);
	await page.reload();
	await expect(page.getByTestId('job-item')).toHaveCount(1);

	// A character prompt longer than the context: the job stops with this page's words and a way on.
	await loadTinyModel(page);
	await planOneExchange(page, 'Verbose');
	await page.getByTestId('gen-start').click();
	const error = page.getByTestId('gen-error');
	await expect(error).toContainText('does not fit the model’s context (256 tokens)', {
		timeout: 120_000
	});
	await expect(error).toContainText('press Resume');
	await expect(error).not.toContainText('new chat');
	await expect(page.getByTestId('unfinished-jobs')).toContainText('failed');

	// A rubric whose prompt cannot fit: every dialogue fails, and the page says so by name.
	await page.getByTestId('nav-judge').click();
	await page.getByRole('button', { name: /Personality, after Character-LLM/ }).click();
	await page.getByRole('button', { name: 'Copy as a new rubric' }).click();
	await page.getByLabel('Key', { exact: true }).first().fill('too-long');
	await page
		.getByTestId('rubric-template')
		.fill(`{{dialogue}}\n${'Weigh every word with care. '.repeat(80)}Score {{min}}-{{max}}:`);
	await page.getByTestId('rubric-save').click();
	await expect(page.getByTestId('judge-count')).toContainText('2 dialogues');
	await page.getByTestId('judge-max-tokens').fill('4');
	await page.getByTestId('judge-start').dblclick();
	await expect(page.getByTestId('judge-failed')).toHaveText('2 failed', { timeout: 180_000 });
	await expect(page.getByTestId('judge-judged')).toHaveText('0 judged');
	await expect(page.getByTestId('judge-all-failed')).toBeVisible();
	const failures = page.getByTestId('judge-failures');
	await expect(failures.getByRole('listitem')).toHaveCount(2);
	await expect(failures).toContainText('Sage × Ann · “Why?”');
	await expect(failures).toContainText('context (256 tokens)');
	await expect(failures).not.toContainText(/[0-9a-f]{8}-[0-9a-f]{4}-/);
	await expect(page.getByTestId('judge-result')).toHaveCount(0);
});

test('datasets are renamed and deleted with a confirmation; characters offer a chat', async ({
	page
}) => {
	await page.goto('/studio/characters');
	const socrates = page
		.getByTestId('character-item')
		.filter({ has: page.getByText('Socrates', { exact: true }) });
	const href = await socrates.getByTestId('character-chat').getAttribute('href');
	expect(href).toMatch(/\/chat\?character=curated(%3A|:)socrates-en$/);

	await page.goto('/studio/datasets');
	const jsonl = JSON.stringify({
		messages: [
			{ role: 'user', content: 'What is courage?' },
			{ role: 'assistant', content: 'What do you think it is?' }
		]
	});
	await page.getByTestId('dataset-import-file').setInputFiles({
		name: 'mine.jsonl',
		mimeType: 'application/jsonl',
		buffer: Buffer.from(`${jsonl}\n${jsonl}`)
	});
	await expect(page.getByTestId('import-notice')).toContainText('Imported 2 examples');
	const rows = page.getByTestId('dataset-row');
	const before = await rows.count();
	const mine = rows.filter({ hasText: 'mine' });
	await mine.getByTestId('dataset-rename').click();
	// While renaming, the name is in the field: the one open rename form.
	await page.getByTestId('dataset-rename-input').fill('Courage talk');
	await page.getByTestId('dataset-rename-save').click();
	const renamed = rows.filter({ hasText: 'Courage talk' });
	await expect(renamed).toHaveCount(1);
	await page.reload();
	await expect(renamed).toHaveCount(1);
	await renamed.getByTestId('dataset-delete').click();
	await expect(renamed.getByTestId('dataset-delete-question')).toContainText('stay');
	await renamed.getByTestId('dataset-confirm-delete').click();
	await expect(renamed).toHaveCount(0);
	await expect(rows).toHaveCount(before - 1);
});

test('the Japanese judge page opens on a Japanese rubric and names it', async ({ page }) => {
	await page.addInitScript(() => localStorage.setItem('mondo.locale', 'ja'));
	await page.goto('/studio/judge');
	await expect(page.getByTestId('rubric-view').getByRole('heading')).toContainText('人格の再現度');
});

for (const locale of ['en', 'ja'])
	test(`studio pages fit a 390 px screen (${locale})`, async ({ page }) => {
		await page.addInitScript((l) => localStorage.setItem('mondo.locale', l), locale);
		await page.setViewportSize({ width: 390, height: 844 });
		for (const path of ['characters', 'generate', 'judge', 'review', 'datasets']) {
			await page.goto(`/studio/${path}`);
			await expect(page.locator('h1')).toBeVisible();
			// Let live queries fill the lists before measuring.
			await page.waitForTimeout(300);
			const width = await page.evaluate(() => document.querySelector('main')!.scrollWidth);
			expect(width, `/studio/${path}`).toBeLessThanOrEqual(390);
		}
	});
