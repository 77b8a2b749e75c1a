import { expect, test, type Page } from '@playwright/test';

// Chat as people expect (issue 15): a message over the context is refused before it is saved;
// conversations are renamed, searched and deleted (with confirmation); chat reopens the one you
// left; a studio character (its prompt) can be picked, also from a link /chat?character=ID.

async function loadTiny(page: Page) {
	await page.getByTestId('source-url').check();
	await page.getByTestId('model-url').fill('/models/tiny-mlc/');
	await page.getByTestId('load-model').click();
	await expect(page.getByTestId('model-ready')).toContainText('q4f16_1', { timeout: 180_000 });
	await page.getByText('Sampling ·').click();
	await page.getByLabel('Max new tokens').fill('2');
}

test('an over-long message is refused before it is saved; later sends work', async ({ page }) => {
	await page.goto('/chat');
	await loadTiny(page);
	const long = 'justice and virtue '.repeat(400);
	await page.getByTestId('chat-input').fill(long);
	await page.getByTestId('chat-send').click();
	await expect(page.getByTestId('chat-error')).toContainText('does not fit');
	await expect(page.getByTestId('chat-input')).toHaveValue(long);
	await expect(page.getByTestId('chat-sessions').locator('li')).toHaveCount(0);
	await expect(page.getByTestId('msg-user')).toHaveCount(0);

	await page.getByTestId('chat-input').fill('What is justice?');
	await page.getByTestId('chat-send').click();
	await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 180_000 });
	await expect(page.getByTestId('chat-error')).toHaveCount(0);
});

test('rename, search, delete with confirmation, and come back to the conversation you left', async ({
	page
}) => {
	await page.goto('/chat');
	await loadTiny(page);
	for (const text of ['What is courage?', 'Is virtue teachable?']) {
		await page.getByTestId('new-chat').click();
		await page.getByTestId('chat-input').fill(text);
		await page.getByTestId('chat-send').click();
		await expect(page.getByTestId('msg-model')).toHaveCount(1, { timeout: 180_000 });
	}
	const list = page.getByTestId('chat-sessions');
	await expect(list.locator('li')).toHaveCount(2);

	// leave and come back: the open conversation is the one you left
	await page.goto('/settings');
	await page.goto('/chat');
	await expect(page.getByTestId('msg-user')).toContainText('Is virtue teachable?');

	page.once('dialog', (d) => d.accept('Meno'));
	await list.locator('li', { hasText: 'Is virtue teachable?' }).getByTestId('chat-rename').click();
	await expect(list).toContainText('Meno');

	await page.getByTestId('chat-search').fill('courage');
	await expect(list.locator('li')).toHaveCount(1);
	await expect(list).toContainText('What is courage?');
	await page.getByTestId('chat-search').fill('');

	// dismissing the confirmation keeps it; accepting deletes that one only
	page.once('dialog', (d) => d.dismiss());
	await list.locator('li', { hasText: 'Meno' }).getByTestId('chat-delete').click();
	await expect(list.locator('li')).toHaveCount(2);
	page.once('dialog', (d) => {
		expect(d.message()).toContain('Meno');
		d.accept();
	});
	await list.locator('li', { hasText: 'Meno' }).getByTestId('chat-delete').click();
	await expect(list.locator('li')).toHaveCount(1);
	await expect(list).toContainText('What is courage?');
	await expect(page.getByTestId('msg-user')).toHaveCount(0); // the open one was deleted
});

test('a studio character’s prompt starts a conversation, also from /chat?character=ID', async ({
	page
}) => {
	await page.goto('/chat');
	const select = page.getByTestId('chat-character');
	await page.getByText('Sampling ·').click();
	await expect(select.locator('option')).not.toHaveCount(1); // curated characters are there
	const option = select.locator('option').nth(1);
	const id = (await option.getAttribute('value'))!;
	await select.selectOption(id);
	const prompt = await page.locator('#cp').inputValue();
	expect(prompt.length).toBeGreaterThan(10);

	await page.goto(`/chat?character=${encodeURIComponent(id)}`);
	await page.getByText('Sampling ·').click();
	await expect(page.getByTestId('chat-character')).toHaveValue(id);
	await expect(page.locator('#cp')).toHaveValue(prompt);
});
