/**
 * The Train page as a first-time user meets it: arguments checked as they are typed (next to the
 * field, before any run exists), one run however often Start is clicked, runs renamed and
 * deleted, statuses in Japanese, and no horizontal overflow at a phone's width.
 */
import { expect, test, type Page } from '@playwright/test';
import { chatJsonl, loadTinyModel, storedCount } from './studio-fixtures';

const EXAMPLES = chatJsonl([
	['What is justice?', 'What do you think it is?'],
	['I am tired.', 'Why are you tired, friend?'],
	['Is money good?', 'Good for what, do you think?'],
	['Hello.', 'Hello. What brings you here?']
]);

/** The Train page with the tiny model loaded and the examples imported as the dataset. */
async function trainPageWithDataset(page: Page) {
	await page.goto('/train');
	await loadTinyModel(page);
	await page
		.getByTestId('train-import')
		.setInputFiles({ name: 'socrates.jsonl', mimeType: 'application/jsonl', buffer: EXAMPLES });
	await expect(page.getByTestId('train-dataset')).not.toHaveValue('');
}

async function noHorizontalOverflow(page: Page) {
	const [scroll, inner] = await page.evaluate(() => [
		document.scrollingElement!.scrollWidth,
		window.innerWidth
	]);
	expect(scroll).toBeLessThanOrEqual(inner);
}

test('invalid arguments are refused as typed; Start twice makes one run; runs rename and delete', async ({
	page
}) => {
	test.setTimeout(900_000);
	await trainPageWithDataset(page);

	// every argument explains itself, with the seeds' value
	await expect(page.getByText('How far each step moves the adapter')).toBeVisible();
	await expect(page.locator('#help-learning_rate')).toContainText('seeds: 8e-5');

	// learning_rate −1 and r 0: said next to the field at once, Start disabled, nothing stored
	await page.getByTestId('arg-learning_rate').fill('-1');
	await page.getByTestId('arg-r').fill('0');
	await expect(page.getByTestId('arg-error-learning_rate')).toHaveText(
		'Must be a number greater than 0.'
	);
	await expect(page.getByTestId('arg-error-r')).toHaveText('Must be a whole number ≥ 1.');
	await expect(page.getByTestId('train-start')).toBeDisabled();
	await expect(page.getByTestId('train-invalid')).toBeVisible();
	expect(await storedCount(page, 'runs')).toBe(0);

	await page.getByTestId('arg-learning_rate').fill('0.01');
	await page.getByTestId('arg-r').fill('2');
	await expect(page.getByTestId('arg-error-learning_rate')).toHaveCount(0);
	await page.getByLabel('gradient_accumulation_steps').fill('1');
	await page.getByTestId('arg-max_steps').fill('2');
	await page.getByTestId('arg-save_steps').fill('1');
	await page.getByTestId('arg-eval_steps').fill('1');
	await expect(page.getByTestId('train-estimate')).toContainText('2 optimizer steps');

	// a double click (and a third click while it runs) starts one run
	await page.getByTestId('train-start').dblclick();
	await page
		.getByTestId('train-start')
		.click({ force: true })
		.catch(() => undefined);
	await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 600_000 });
	await expect(page.getByTestId('run-row')).toHaveCount(1);
	expect(await storedCount(page, 'runs')).toBe(1);
	// one checkpoint per step: steps 1 and 2 (save_total_limit 1 keeps the newest and the best)
	const steps = await page.getByTestId('train-checkpoints').locator('li .step').allTextContents();
	expect(new Set(steps).size).toBe(steps.length);
	await expect(page.getByTestId('chart-loss')).toBeVisible();
	await expect(page.getByTestId('chart-lr')).toBeVisible();
	// the best checkpoint is one, marked and explained
	await expect(page.getByTestId('train-checkpoints').getByText('★ best')).toHaveCount(1);
	await expect(page.getByTestId('best-explained')).toContainText('lowest eval loss');

	// rename in place
	await page.getByTestId('run-rename').click();
	await page.getByTestId('run-name-input').fill('Socrates, first try');
	await page.getByTestId('run-name-input').press('Enter');
	await expect(page.getByTestId('run-name')).toHaveText('Socrates, first try');

	// the trained adapter is stored once; chatting with the last checkpoint (the same weights) adds none
	expect(await storedCount(page, 'adapters')).toBe(1);

	// Japanese: statuses and buttons in Japanese
	await page.evaluate(() => localStorage.setItem('mondo.locale', 'ja'));
	await page.reload();
	await expect(page.getByTestId('run-status')).toHaveText('完了');
	await expect(page.getByTestId('run-delete')).toHaveText('削除');

	// delete, with confirmation: the run and its checkpoints go, the adapter stays
	page.once('dialog', (d) => d.dismiss());
	await page.getByTestId('run-delete').click();
	await expect(page.getByTestId('run-row')).toHaveCount(1);
	page.once('dialog', (d) => d.accept());
	await page.getByTestId('run-delete').click();
	await expect(page.getByTestId('run-row')).toHaveCount(0);
	expect(await storedCount(page, 'runs')).toBe(0);
	expect(await storedCount(page, 'checkpoints')).toBe(0);
	expect(await storedCount(page, 'adapters')).toBe(1);
});

test('leaving the page mid-run and coming back finds it running; Pause says it is pausing', async ({
	page
}) => {
	test.setTimeout(900_000);
	await trainPageWithDataset(page);
	await page.getByTestId('arg-max_steps').fill('400');
	await page.getByTestId('arg-save_steps').fill('50');
	await page.getByTestId('train-start').click();
	await expect(page.getByTestId('train-live')).toBeVisible({ timeout: 480_000 });

	await page.getByTestId('nav-adapters').click();
	await expect(page).toHaveURL(/\/adapters$/);
	await page.getByTestId('nav-train').click();
	await expect(page.getByTestId('train-pause')).toBeVisible();
	await expect(page.getByTestId('run-status')).not.toContainText('interrupted');
	await expect(page.getByTestId('train-resume')).toHaveCount(0);
	await expect(page.getByTestId('train-start')).toBeDisabled();

	await page.getByTestId('train-pause').click();
	await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'pausing');
	await expect(page.getByTestId('run-status')).toHaveText('paused', { timeout: 480_000 });
	await expect(page.getByTestId('run-row')).toHaveCount(1);
});

for (const locale of ['en', 'ja'])
	for (const width of [390, 1280])
		test(`train and adapters fit ${width} px in ${locale}`, async ({ page }) => {
			await page.setViewportSize({ width, height: 900 });
			await page.addInitScript((l) => localStorage.setItem('mondo.locale', l), locale);
			for (const route of ['/train', '/adapters']) {
				await page.goto(route);
				await expect(page.locator('h1')).toBeVisible();
				await noHorizontalOverflow(page);
			}
		});
