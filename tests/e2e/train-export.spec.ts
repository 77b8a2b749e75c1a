/**
 * The Train page's "Export for a GPU server" in the built app: before any run, from an imported
 * dataset and the form's settings, a zip of the TRL project whose data files hold exactly the
 * dataset's train/eval split and whose run_config.json holds the form's values.
 */
import { expect, test } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { readFileSync } from 'node:fs';

const ROWS = Array.from({ length: 10 }, (_, i) =>
	JSON.stringify({
		messages: [
			{ role: 'user', content: `Question ${i}?` },
			{ role: 'assistant', content: `What do you think, friend ${i}?` }
		]
	})
).join('\n');

test('exports the TRL project of the selected dataset and the form’s settings', async ({
	page
}) => {
	await page.goto('/train');
	await expect(page.getByTestId('train-export-gpu')).toBeDisabled();
	await page.getByTestId('train-import').setInputFiles({
		name: 'socrates.jsonl',
		mimeType: 'application/jsonl',
		buffer: Buffer.from(ROWS)
	});
	await page.getByTestId('arg-max_steps').fill('7');
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		page.getByTestId('train-export-gpu').click()
	]);
	expect(download.suggestedFilename()).toBe('socrates-trl.zip');
	const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
	const text = (p: string) => strFromU8(zip[`socrates-trl/${p}`]);
	for (const file of ['train.py', 'README.md', 'requirements.txt', 'accelerate/zero3.yaml'])
		expect(zip[`socrates-trl/${file}`], file).toBeDefined();
	const lines = (p: string) => text(p).trim().split('\n').filter(Boolean);
	// the studio's 80/20 split of 10 examples: 8 train, 2 eval, every example once
	expect(lines('data/train.jsonl')).toHaveLength(8);
	expect(lines('data/eval.jsonl')).toHaveLength(2);
	const contents = [...lines('data/train.jsonl'), ...lines('data/eval.jsonl')]
		.map((l) => JSON.parse(l).messages[0].content)
		.sort();
	expect(contents).toEqual(Array.from({ length: 10 }, (_, i) => `Question ${i}?`).sort());
	const run = JSON.parse(text('run_config.json'));
	expect(run.model_name_or_path).toBe('google/gemma-2-2b-jpn-it');
	expect(run.sft.max_steps).toBe(7);
});
