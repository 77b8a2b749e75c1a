/**
 * Judge scores in the built app (issue 14), over the real IndexedDB:
 *
 * - the Train page shows a run's recorded judge scores beside the loss, names the best step, says
 *   when the chosen score fell while the loss kept falling, and shows the replies and judgments
 *   stored at any evaluated step (the run is written into the database as a judged run records it;
 *   tests/gpu/judge-training.test.ts proves a run records exactly this);
 * - the Adapters page scores the base model and an adapter on the tiny model with the same
 *   prompts, judge, seed and sampling: the same table again for the same seed, and its CSV and
 *   JSON exports hold that table and the replies.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { pair, tinyCharacter, tinyRubric } from '../judge-fixtures';
import { loadTinyModel, STRONG_ADAPTER_ZIP as ZIP } from './studio-fixtures';

/** Puts records into the studio's database (once the app has made it), then reloads the page. */
async function seed(page: Page, records: Record<string, object[]>): Promise<void> {
	// Dexie's version 2 is IndexedDB's 20: opening it earlier would make an empty database
	await expect
		.poll(() =>
			page.evaluate(
				async () =>
					(await indexedDB.databases()).find((d) => d.name === 'mondo-studio')?.version ?? 0
			)
		)
		.toBeGreaterThanOrEqual(20);
	await page.evaluate(
		(records) =>
			new Promise<void>((resolve, reject) => {
				const open = indexedDB.open('mondo-studio');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const tx = open.result.transaction(Object.keys(records), 'readwrite');
					for (const [store, rows] of Object.entries(records))
						for (const row of rows) tx.objectStore(store).put(row);
					tx.oncomplete = () => {
						open.result.close();
						resolve();
					};
					tx.onerror = () => reject(tx.error);
				};
			}),
		records
	);
	await page.reload();
}

const now = 1_750_000_000_000;
const rubric = tinyRubric('rubric-tiny', now);
const character = tinyCharacter('char-sokra', now);
const dataset = {
	id: 'ds-tiny',
	name: 'tiny dialogues',
	origin: 'user',
	train: [pair('hello', 'good day'), pair('why', 'ask more')],
	eval: [pair('who', 'a friend'), pair('how', 'slowly')],
	createdAt: now,
	updatedAt: now
};

test('the Train page shows judge scores, the best step, the overfitting notice and stored replies', async ({
	page
}) => {
	// a run with an evaluation every 10 steps: combined_score peaks at step 20, then falls three
	// times while the loss keeps falling
	const combined = [2.0, 2.8, 2.6, 2.4, 2.1];
	const metrics = [
		...Array.from({ length: 50 }, (_, i) => ({
			step: i + 1,
			epoch: (i + 1) / 25,
			loss: 3 - i * 0.02,
			learningRate: 1e-4,
			time: now + i
		})),
		...combined.map((c, i) => ({
			step: (i + 1) * 10,
			epoch: ((i + 1) * 10) / 25,
			evalLoss: 3 - i * 0.1,
			scores: {
				eval_style_score: c + 0.5,
				eval_flow_score: c - 0.5,
				eval_combined_score: c
			},
			time: now + 100 + i
		}))
	].sort((a, b) => a.step - b.step);
	const run = {
		id: 'run-judged',
		name: 'judged run',
		base: { model: 'tiny' },
		datasetId: dataset.id,
		trainingArgs: {
			max_steps: 50,
			eval_strategy: 'steps',
			eval_steps: 10,
			save_strategy: 'steps',
			save_steps: 10,
			metric_for_best_model: 'combined_score',
			load_best_model_at_end: true
		},
		loraConfig: { r: 2, lora_alpha: 4, target_modules: ['q_proj'] },
		status: 'completed',
		metrics,
		judgeEvaluation: {
			rubricId: rubric.id,
			characterId: character.id,
			prompts: 1,
			seed: 0,
			sampling: { temperature: 0, topK: 1, topP: 1, repetitionPenalty: 1, maxNewTokens: 8 }
		},
		createdAt: now,
		updatedAt: now
	};
	const checkpoint = (step: number, best: boolean) => ({
		id: `ckpt-${step}`,
		runId: run.id,
		step,
		state: {},
		dataPosition: { epoch: 0, batchInEpoch: 0 },
		metrics: {},
		best,
		createdAt: now + step
	});
	const reply = (step: number, text: string, judged: boolean) => ({
		id: `reply-${step}`,
		runId: run.id,
		step,
		index: 0,
		prompt: [{ role: 'user', content: 'who are you?' }],
		reply: text,
		reference: 'a friend',
		...(judged
			? {
					judgment: {
						id: `j-${step}`,
						dialogueId: `reply-${step}`,
						rubricId: rubric.id,
						rubricKey: rubric.key,
						rubricVersion: 1,
						judge: { kind: 'local', model: 'tiny' },
						scores: { style: { score: 3.3 }, flow: { score: 2.3 } },
						comment: 'Asks back, in character.',
						createdAt: now
					}
				}
			: { error: 'the prompt is 300 tokens long; the engine holds 256' }),
		createdAt: now
	});

	await page.goto('/train');
	await seed(page, {
		rubrics: [rubric],
		characters: [character],
		datasets: [dataset],
		runs: [run],
		checkpoints: [checkpoint(20, true), checkpoint(50, false)],
		evalReplies: [reply(20, 'Who do you think I am?', true), reply(50, 'I I I I', false)]
	});
	await page.getByTestId('run-name').filter({ hasText: 'judged run' }).click();

	const scores = page.getByTestId('run-scores');
	await expect(scores.getByTestId('chart-scores')).toBeVisible();
	await expect(page.getByTestId('chart-loss')).toBeVisible();
	await expect(page.getByTestId('overfitting-notice')).toContainText(
		'eval_combined_score has fallen for 3 evaluations while the training loss kept falling: the best step was 20.'
	);
	await expect(page.getByTestId('overfitting-notice')).toContainText('Keep step 20’s adapter');
	// the best checkpoint is marked among the checkpoints
	await expect(
		page.getByTestId('train-checkpoints').locator('li').filter({ hasText: '★' })
	).toContainText('20');

	// the replies at the best step are shown first, with their judgment
	await expect(page.getByTestId('scores-step')).toHaveValue('20');
	const replies = page.getByTestId('scores-replies');
	await expect(replies).toContainText('who are you?');
	await expect(replies).toContainText('Who do you think I am?');
	await expect(replies).toContainText('Asks back, in character.');
	// any evaluated step; a failed judgment says so, it is not a zero
	await page.getByTestId('scores-step').selectOption('50');
	await expect(replies).toContainText('I I I I');
	await expect(replies).toContainText(
		'Judging failed (counted as failed, not as 0): the prompt is 300 tokens long'
	);
	await expect(replies).not.toContainText('Who do you think I am?');
});

test.use({ serviceWorkers: 'block' });

test('the Adapters page compares by score: the same table for the same seed, exported as CSV and JSON', async ({
	page
}) => {
	test.setTimeout(600_000);
	await page.goto('/adapters');
	await seed(page, { rubrics: [rubric], characters: [character], datasets: [dataset] });
	await loadTinyModel(page);
	await page
		.getByTestId('adapter-import')
		.setInputFiles({ name: 'socratic-lora.zip', mimeType: 'application/zip', buffer: ZIP });
	await expect(page.getByTestId('adapter-row')).toHaveCount(1);

	const card = page.getByTestId('adapter-scores');
	await card.getByRole('checkbox', { name: 'socratic-lora' }).check();
	await card.getByTestId('scores-rubric').selectOption({ label: `${rubric.name} (v1)` });
	await card.getByTestId('scores-character').selectOption({ label: 'Sokra' });
	await card.getByTestId('scores-dataset').selectOption({ label: 'tiny dialogues' });
	await card.getByLabel('Held-out prompts').fill('1');
	await card.getByLabel('Tokens per reply').fill('3');
	await card.getByLabel('Judge comment tokens per criterion').fill('2');
	await card.getByLabel('Seed (prompts and sampling)').fill('7');

	const table = card.getByTestId('scores-table');
	const repliesTable = card.getByTestId('scores-replies');
	const score = async () => {
		await card.getByTestId('scores-run').click();
		await expect(card.getByTestId('scores-run')).toBeDisabled();
		await expect(card.getByTestId('scores-run')).toBeEnabled({ timeout: 480_000 });
		await expect(table.locator('tbody tr')).toHaveCount(2);
		return [await table.innerText(), await repliesTable.innerText()];
	};
	const first = await score();
	expect(first[0]).toContain('socratic-lora');
	// the same seed: the same replies, judgments and table
	expect(await score()).toEqual(first);

	const download = async (testId: string) => {
		const [file] = await Promise.all([
			page.waitForEvent('download'),
			card.getByTestId(testId).click()
		]);
		return readFileSync((await file.path())!, 'utf8');
	};
	const csv = (await download('scores-csv')).trim().split('\n');
	expect(csv[0]).toBe('variant,adapter_id,criterion,mean,spread,judged,failed,winner');
	// base + adapter, each: style, flow, combined
	expect(csv).toHaveLength(1 + 6);
	expect(csv.filter((l) => l.startsWith('Base model (no adapter),,'))).toHaveLength(3);
	expect(csv.filter((l) => l.startsWith('socratic-lora,'))).toHaveLength(3);
	const json = JSON.parse(await download('scores-json'));
	expect(json).toMatchObject({
		format: 'mondo-score-comparison',
		version: 1,
		seed: 7,
		rubric: { id: rubric.id, key: rubric.key, version: 1 }
	});
	expect(json.variants.map((v: { name: string }) => v.name)).toEqual([
		'Base model (no adapter)',
		'socratic-lora'
	]);
	expect(json.judgeTokens).toBe(2);
	// every reply judged (none failed), so the table has a winner, marked on the page
	for (const v of json.variants) expect(v.summary).toMatchObject({ judged: 1, failed: 0 });
	expect(json.winner).not.toBeNull();
	await expect(card.getByTestId('scores-winner')).toHaveCount(1);
	expect(json.sampling.maxNewTokens).toBe(3);
	expect(json.variants[0].replies).toHaveLength(1);
	// the JSON's replies are the ones on the page
	for (const v of json.variants)
		for (const r of v.replies as { reply: string }[]) expect(first[1]).toContain(r.reply.trim());
	// the CSV's combined rows are the JSON's summaries
	for (const v of json.variants as { name: string; summary: { combined: number | null } }[])
		expect(
			csv.some(
				(l) => l.startsWith(`${v.name},`) && l.includes(`,combined,${v.summary.combined ?? ''},`)
			)
		).toBe(true);

	// kept: the comparison is there after a reload (with a model loaded, as the card needs one)
	await page.reload();
	await loadTinyModel(page);
	await expect(page.getByTestId('scores-table')).toBeVisible();
	expect(await page.getByTestId('scores-table').innerText()).toBe(first[0]);
});
