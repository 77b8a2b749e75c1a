/**
 * Training in the built app with the tiny model: start a run, close the page mid-run (the worker and
 * its GPU work die with it), reopen, resume — it continues from the last checkpoint, on the same
 * loss curve, and finishes.
 */
import { expect, test, type Page } from '@playwright/test';
import { chatJsonl, loadTinyModel } from './studio-fixtures';

const EXAMPLES = chatJsonl([
	['What is justice?', 'What do you think it is?'],
	['I am tired.', 'Why are you tired, friend?'],
	['Is money good?', 'Good for what, do you think?'],
	['Teach me.', 'What would you like to know?'],
	['Hello.', 'Hello. What brings you here?'],
	['I know everything.', 'Do you? What is knowing?']
]);

/** The run's metric steps, read straight from IndexedDB (what the chart draws). */
async function metricSteps(page: Page): Promise<number[]> {
	return page.evaluate(
		() =>
			new Promise<number[]>((resolve, reject) => {
				const open = indexedDB.open('mondo-studio');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const req = open.result.transaction('runs').objectStore('runs').getAll();
					req.onsuccess = () => {
						const run = req.result[0] as { metrics: { step: number; loss?: number }[] };
						resolve(run.metrics.filter((m) => m.loss !== undefined).map((m) => m.step));
						open.result.close();
					};
				};
			})
	);
}

test('a run survives closing the page: it resumes from its checkpoint and finishes', async ({
	page
}) => {
	test.setTimeout(600_000);
	await page.goto('/train');
	await loadTinyModel(page);
	await page.getByTestId('train-import').setInputFiles({
		name: 'socrates.jsonl',
		mimeType: 'application/jsonl',
		buffer: EXAMPLES
	});
	await expect(page.getByTestId('train-dataset')).not.toHaveValue('');
	await page.getByLabel('gradient_accumulation_steps').fill('1');
	await page.getByTestId('arg-max_steps').fill('8');
	await page.getByTestId('arg-save_steps').fill('2');
	await page.getByLabel('learning_rate').fill('0.01');
	await expect(page.getByTestId('train-estimate')).toContainText('8 optimizer steps');
	await page.getByTestId('train-start').click();

	// wait for a checkpoint past step 2, then close the tab mid-run
	await expect(page.getByTestId('train-checkpoints').locator('li').first()).toBeVisible({
		timeout: 240_000
	});
	await page.reload();
	await expect(page.getByTestId('run-status')).toContainText('running');
	const before = await metricSteps(page);
	expect(before.length).toBeGreaterThanOrEqual(2);

	await loadTinyModel(page);
	await page.getByTestId('train-resume').click();
	await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 360_000 });
	await expect(page.getByTestId('run-step')).toHaveText('8');
	// one loss per optimizer step, 1..8, no step twice: the curve continued where the checkpoint was
	expect(await metricSteps(page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
	// one checkpoint per step (the end of the run right after a save replaces it, not a twin)
	const steps = await page.getByTestId('train-checkpoints').locator('li .step').allTextContents();
	expect(new Set(steps).size).toBe(steps.length);
	await expect(page.getByTestId('chart-loss')).toBeVisible();

	// chat with the last checkpoint: the KV cache the run freed is back, with the adapter on
	await page
		.getByTestId('train-checkpoints')
		.getByRole('button', { name: 'Chat with this checkpoint' })
		.last()
		.click();
	await expect(page).toHaveURL(/\/chat$/);
	await expect(page.getByTestId('model-ready')).toContainText('LoRA');
	await page.getByText('Sampling ·').click();
	await page.getByLabel('Max new tokens').fill('3');
	await page.getByTestId('chat-input').fill('What is virtue?');
	await page.getByTestId('chat-send').click();
	// (the trained adapter may well end its turn early: only that a reply came is asserted)
	await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 180_000 });
	await expect(page.getByTestId('chat-stats')).toContainText('tokens');
	await expect(page.getByTestId('chat-error')).toHaveCount(0);
});
