import { expect, test, type Page } from '@playwright/test';

/**
 * The data studio end to end, on the tiny random model served from fixtures/: characters,
 * AI×AI generation, local judging, review by keyboard, a dataset with the real tokenizer's
 * statistics, and a JSONL import that waits for confirmation before skipping a bad line.
 * Pages are reached through the navigation (client-side), so the model loaded once stays loaded.
 */

async function loadTinyModel(page: Page) {
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });
}

test('characters: curated Socrates on first run; create, edit, duplicate survive a reload', async ({
	page
}) => {
	await page.goto('/studio/characters');
	const names = page.getByTestId('character-item-name');
	await expect(names.filter({ hasText: /^Socrates$/ })).toHaveCount(1);

	await page.getByTestId('character-new').click();
	await page.getByTestId('character-name').fill('Hypatia <b>test</b>');
	await page.getByTestId('character-profile').fill('A mathematician of Alexandria.');
	await page.getByTestId('character-prompt').fill('You are Hypatia. Answer like a teacher.');
	await page.getByTestId('character-lines').fill('Let us measure it.\nWhat do the numbers say?');
	await page.getByTestId('character-save').click();
	// Names are text, never HTML.
	await expect(names.filter({ hasText: 'Hypatia <b>test</b>' })).toHaveCount(1);

	const item = page.getByTestId('character-item').filter({ hasText: 'Hypatia <b>test</b>' });
	await item.getByTestId('character-edit').click();
	await page.getByTestId('character-name').fill('Hypatia');
	await page.getByTestId('character-save').click();
	await expect(names.filter({ hasText: /^Hypatia$/ })).toHaveCount(1);

	await page
		.getByTestId('character-item')
		.filter({ has: page.getByText('Hypatia', { exact: true }) })
		.getByTestId('character-duplicate')
		.click();
	await expect(names.filter({ hasText: 'Hypatia (copy)' })).toHaveCount(1);

	await page.reload();
	await expect(names.filter({ hasText: /^Hypatia$/ })).toHaveCount(1);
	await expect(names.filter({ hasText: 'Hypatia (copy)' })).toHaveCount(1);
	await expect(names.filter({ hasText: /^Socrates$/ })).toHaveCount(1);
	await page
		.getByTestId('character-item')
		.filter({ has: page.getByText('Hypatia', { exact: true }) })
		.getByTestId('character-edit')
		.click();
	await expect(page.getByTestId('character-lines')).toHaveValue(
		'Let us measure it.\nWhat do the numbers say?'
	);

	// Import: every problem is named by item and field, and nothing is imported.
	const file = (characters: unknown[]) => ({
		name: 'characters.json',
		mimeType: 'application/json',
		buffer: Buffer.from(JSON.stringify({ format: 'mondo-characters', version: 1, characters }))
	});
	const good = {
		name: 'Diotima',
		language: 'en',
		profile: 'A seer.',
		styleNotes: '',
		exampleLines: [],
		prompt: 'You are Diotima.'
	};
	await page.getByTestId('characters-import').setInputFiles(file([good, { ...good, profile: '' }]));
	await expect(page.getByTestId('characters-import-errors')).toContainText('characters[1].profile');
	await expect(names.filter({ hasText: 'Diotima' })).toHaveCount(0);
	await page.getByTestId('characters-import').setInputFiles(file([good]));
	await expect(names.filter({ hasText: 'Diotima' })).toHaveCount(1);
});

test('generate → judge → review → dataset with the tiny model, then import with a bad line', async ({
	page
}) => {
	test.setTimeout(360_000);
	// The tiny model's context is 256 tokens: a character, persona, question and rubric with short
	// texts keep every prompt inside it.
	await page.goto('/studio/characters');
	await page.getByTestId('character-new').click();
	await page.getByTestId('character-name').fill('Sage');
	await page.getByTestId('character-profile').fill('Wise.');
	await page.getByTestId('character-prompt').fill('Be Sage.');
	await page.getByTestId('character-save').click();
	await page.getByTestId('persona-new').click();
	await page.getByTestId('persona-name').fill('Ann');
	await page.getByTestId('persona-description').fill('A student');
	await page.getByTestId('persona-save').click();
	await expect(page.getByTestId('persona-table')).toContainText('Ann');

	await page.getByTestId('nav-generate').click();
	await loadTinyModel(page);
	await page.getByTestId('gen-character').selectOption({ label: 'Sage (en)' });
	await page.getByTestId('gen-persona-kind').selectOption('ordinary');
	await page.getByRole('checkbox', { name: 'Ann · Ordinary person' }).check();
	await page.getByPlaceholder('Add an opening question…').fill('Why?');
	await page.getByRole('button', { name: 'Add', exact: true }).click();
	await expect(page.getByTestId('gen-question')).toHaveCount(1);
	await expect(page.getByTestId('gen-question')).toBeChecked();
	await page.getByTestId('gen-exchanges').fill('1');
	await page.getByText('Sampling per side').click();
	await page.getByTestId('gen-character-max').fill('4');
	await page.getByTestId('gen-user-max').fill('4');
	// One persona × one question × the user-side temperatures 0.3 and 0.7.
	await expect(page.getByTestId('gen-plan')).toContainText('= 2 dialogues');
	await page.getByTestId('gen-start').click();
	// Pause = stop after the dialogue in progress; the job resumes after a reload.
	await page.getByTestId('gen-pause').click();
	await expect(page.getByTestId('gen-progress')).toContainText('1 / 2 dialogues', {
		timeout: 120_000
	});
	await expect(page.getByTestId('gen-pause')).toHaveCount(0);
	await expect(page.getByTestId('generated-dialogue')).toHaveCount(1);
	await page.reload();
	await expect(page.getByTestId('unfinished-jobs')).toContainText('1 / 2');
	await loadTinyModel(page);
	await page.getByTestId('job-resume').click();
	await expect(page.getByTestId('gen-done')).toBeVisible({ timeout: 120_000 });
	await expect(page.getByTestId('generated-dialogue')).toHaveCount(2);
	await expect(page.getByTestId('gen-progress')).toContainText('2 / 2');

	// A short rubric copied from a built-in one; saving an edit makes version 2.
	await page.getByTestId('nav-judge').click();
	await page
		.getByTestId('rubric-list')
		.getByRole('button', { name: /Personality, after Character-LLM/ })
		.click();
	await page.getByRole('button', { name: 'Copy as a new rubric' }).click();
	await page.getByLabel('Key', { exact: true }).first().fill('tiny');
	await page.getByTestId('rubric-template').fill('{{dialogue}}\nScore {{min}}-{{max}}:');
	await page.getByTestId('rubric-save').click();
	await expect(page.getByTestId('rubric-version')).toContainText('version 1 of 1');
	await page.getByTestId('rubric-edit').click();
	await page.getByTestId('rubric-template').fill('{{dialogue}}\nScore ({{min}}-{{max}}):');
	await page.getByTestId('rubric-save').click();
	await expect(page.getByTestId('rubric-version')).toContainText('version 2 of 2');

	await expect(page.getByTestId('model-ready')).toBeVisible();
	await page.getByTestId('judge-max-tokens').fill('4');
	await expect(page.getByTestId('judge-count')).toContainText('2 dialogues');
	await page.getByTestId('judge-start').click();
	await expect(page.getByTestId('judge-result')).toHaveCount(2, { timeout: 180_000 });
	await expect(page.getByTestId('judgment-score')).toHaveCount(2);
	await expect(page.getByTestId('judgment-score').first()).toHaveText(/^[1-7]\.\d\d$/);

	// Review with the keyboard: reject the first, accept the second.
	await page.getByTestId('nav-review').click();
	await expect(page.getByTestId('review-shortcuts')).toContainText('accept');
	await expect(page.getByTestId('funnel-generated')).toHaveText('2');
	await expect(page.getByTestId('funnel-judged')).toHaveText('2');
	await expect(page.getByTestId('review-current')).toBeVisible();
	await page.keyboard.press('r');
	await expect(page.getByTestId('funnel-rejected')).toHaveText('1');
	// e edits the selected line (the first reply); the generated text is kept beside it.
	await page.keyboard.press('e');
	await page.getByTestId('turn-editor').fill('Fixed by a reviewer.');
	await page.keyboard.press('Control+Enter');
	await expect(page.getByTestId('review-current')).toContainText('Fixed by a reviewer.');
	await expect(page.getByTestId('review-current')).toContainText('Generated:');
	await page.keyboard.press('a');
	await expect(page.getByTestId('funnel-accepted')).toHaveText('1');

	// A dataset from the accepted dialogue + the curated English set, counted with the tokenizer.
	await page.getByTestId('nav-datasets').click();
	await page.getByTestId('dataset-character').selectOption({ label: 'Sage (en)' });
	await expect(page.getByTestId('dataset-use-dialogues')).toBeChecked();
	await expect(page.getByText('Accepted dialogues of this character (1)')).toBeVisible();
	await page.getByTestId('dataset-name').fill('Sage mix');
	await page
		.getByTestId('dataset-example-set')
		.selectOption({ label: 'Socrates: single exchanges (curated) · Built-in · 155' });
	await page.getByTestId('dataset-build-button').click();
	await expect(page.getByTestId('dataset-stats')).toBeVisible({ timeout: 30_000 });
	// 155 curated exchanges + the accepted one-exchange dialogue's pair (left out only when the
	// random model wrote an empty turn).
	await expect(page.getByTestId('stats-examples')).toHaveText(/^15[56]$/);
	await expect(page.getByTestId('stats-tokenizer')).toContainText('tiny');

	await page.reload();
	const row = page.getByTestId('dataset-row').filter({ hasText: 'Sage mix' });
	await expect(row).toHaveCount(1);
	// 20% eval: round(156 × 0.2) = 31 (round(155 × 0.2) = 31).
	await expect(row).toContainText(/12[45] \/ 31/);

	// Import: one bad line is reported by number, nothing is saved until confirmed.
	const rowsBefore = await page.getByTestId('dataset-row').count();
	const jsonl = [
		JSON.stringify({
			messages: [
				{ role: 'user', content: 'What is courage?' },
				{ role: 'assistant', content: 'What do you think it is?' }
			]
		}),
		'{"messages": [{"role": "user", "content": "no reply"}]}',
		JSON.stringify({
			messages: [
				{ role: 'user', content: 'Is virtue teachable?' },
				{ role: 'assistant', content: 'Shall we ask what virtue is first?' }
			]
		})
	].join('\n');
	await page.getByTestId('dataset-import-file').setInputFiles({
		name: 'mixed.jsonl',
		mimeType: 'application/jsonl',
		buffer: Buffer.from(jsonl)
	});
	await expect(page.getByTestId('import-problem')).toHaveCount(1);
	await expect(page.getByTestId('import-problem')).toContainText('line 2');
	await expect(page.getByTestId('dataset-row')).toHaveCount(rowsBefore);
	await page.getByTestId('import-confirm').click();
	await expect(page.getByTestId('import-notice')).toContainText('Imported 2 examples');
	await expect(page.getByTestId('dataset-row')).toHaveCount(rowsBefore + 1);
});
