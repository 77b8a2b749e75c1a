import { expect, test } from '@playwright/test';

test('chat with a tiny local model: streaming reply, saved, listed after a reload', async ({
	page
}) => {
	await page.goto('/chat');
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });

	// a random tiny model rarely says <end_of_turn>: keep its replies short
	await page.getByText('Sampling ·').click();
	await page.getByLabel('Max new tokens').fill('6');
	await page.getByTestId('chat-input').fill('What is justice? 正義とは？');
	await page.getByTestId('chat-send').click();
	await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 180_000 });
	await expect(page.getByTestId('chat-stats')).toContainText('6 tokens');
	await expect(page.getByTestId('msg-user')).toContainText('正義とは？');

	await page.reload();
	await expect(page.getByTestId('chat-sessions')).toContainText('What is justice?');
	await page.getByTestId('chat-sessions').getByRole('button').first().click();
	await expect(page.getByTestId('msg-user')).toContainText('What is justice?');
	await expect(page.getByTestId('msg-model')).toHaveCount(1);
});

test('a model folder dropped on the picker loads (no network but the files themselves)', async ({
	page
}) => {
	await page.goto('/chat');
	await expect(page.getByTestId('load-model')).toBeEnabled();
	// Playwright cannot drag from the desktop: build the drop from the fixture files in the page
	const names = [
		'mlc-chat-config.json',
		'tensor-cache.json',
		'tokenizer.json',
		'tokenizer_config.json',
		'special_tokens_map.json',
		...Array.from({ length: 7 }, (_, i) => `params_shard_${i}.bin`)
	];
	await page.evaluate(async (names) => {
		const dt = new DataTransfer();
		for (const name of names) {
			const blob = await (await fetch(`/models/tiny-mlc/${name}`)).blob();
			dt.items.add(new File([blob], name));
		}
		const picker = document.querySelector('[data-testid="model-picker"]')!;
		picker.dispatchEvent(
			new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })
		);
	}, names);
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });
	await expect(page.getByTestId('model-ready')).toContainText('dropped files');
});
