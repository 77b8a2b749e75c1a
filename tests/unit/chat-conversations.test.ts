import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { newId, StudioDatabase } from '../../src/lib/data/db';
import { readSetting, SETTINGS } from '../../src/lib/data/settings';
import {
	addModelReply,
	addUserMessage,
	ConversationTitleError,
	deleteConversation,
	lastConversation,
	renameConversation,
	searchConversations,
	takeBackUserMessage,
	type ConversationSetup
} from '../../src/lib/chat/conversations';
import { fitsContext, promptTokenCount, TEMPLATE_TOKENS } from '../../src/lib/chat/context';
import { DEFAULT_SAMPLING } from '../../src/lib/chat/defaults';

const setup: ConversationSetup = {
	model: { model: 'test/tiny' },
	characterPrompt: 'You are Socrates.',
	sampling: DEFAULT_SAMPLING
};
const fresh = () => new StudioDatabase(`test-${newId()}`);

describe('chat conversations', () => {
	it('are created on the first message, answered, and remembered as the last one', async () => {
		const db = fresh();
		const s = await addUserMessage(db, null, setup, 'What is knowledge?', 1000);
		expect(s.title).toBe('What is knowledge?');
		expect(s.characterPrompt).toBe('You are Socrates.');
		const answered = await addModelReply(db, s.id, { content: 'Tell me first…' }, 2000);
		expect(answered!.messages.map((m) => m.role)).toEqual(['user', 'model']);
		expect((await lastConversation(db))?.id).toBe(s.id);
		db.close();
	});

	it('take back an unanswered message; a conversation left empty goes', async () => {
		const db = fresh();
		const s = await addUserMessage(db, null, setup, 'too long');
		expect(await takeBackUserMessage(db, s.id)).toBe('too long');
		expect(await db.chats.get(s.id)).toBeUndefined();
		expect(await readSetting(SETTINGS.chatLastConversation, db)).toBeNull();

		const t = await addUserMessage(db, null, setup, 'one');
		await addModelReply(db, t.id, { content: 'a' });
		await addUserMessage(db, (await db.chats.get(t.id))!, setup, 'two');
		expect(await takeBackUserMessage(db, t.id)).toBe('two');
		expect((await db.chats.get(t.id))!.messages).toHaveLength(2);
		// nothing to take back after a reply
		expect(await takeBackUserMessage(db, t.id)).toBeNull();
		db.close();
	});

	it('rename (trimmed, 1–120 characters) and delete one conversation, nothing else', async () => {
		const db = fresh();
		const a = await addUserMessage(db, null, setup, 'a');
		const b = await addUserMessage(db, null, setup, 'b');
		await renameConversation(db, a.id, '  Knowledge   and virtue ');
		expect((await db.chats.get(a.id))!.title).toBe('Knowledge and virtue');
		await expect(renameConversation(db, a.id, '   ')).rejects.toBeInstanceOf(
			ConversationTitleError
		);
		await expect(renameConversation(db, a.id, 'x'.repeat(121))).rejects.toThrow(/1–120/);
		await deleteConversation(db, b.id);
		expect(await db.chats.get(b.id)).toBeUndefined();
		expect(await db.chats.get(a.id)).toBeDefined();
		expect(await lastConversation(db)).toBeNull(); // b was the last one
		db.close();
	});

	it('search titles and messages, every word, case- and width-insensitive', async () => {
		const db = fresh();
		const a = await addUserMessage(db, null, setup, 'What is VIRTUE?');
		const b = await addUserMessage(db, null, setup, '知とは何かね');
		const list = [a, b];
		expect(searchConversations(list, 'virtue').map((s) => s.id)).toEqual([a.id]);
		expect(searchConversations(list, 'ｖｉｒｔｕｅ what').map((s) => s.id)).toEqual([a.id]);
		expect(searchConversations(list, '知').map((s) => s.id)).toEqual([b.id]);
		expect(searchConversations(list, '  ')).toHaveLength(2);
		expect(searchConversations(list, 'virtue 知')).toEqual([]);
		db.close();
	});
});

describe('context check before a message is saved', () => {
	// one token per character: the count is easy to follow
	const encode = async (texts: string[]) => texts.map((t) => [...t].map((c) => c.charCodeAt(0)));

	it('counts every message, the template’s fixed tokens and the character prompt once', async () => {
		const n = await promptTokenCount(
			encode,
			[
				{ role: 'user', content: 'hi' },
				{ role: 'model', content: 'hello' },
				{ role: 'user', content: 'bye' }
			],
			'P'
		);
		const body = 'P\n\nhi'.length + 'hello'.length + 'bye'.length;
		expect(n).toBe(
			TEMPLATE_TOKENS.bos + body + 3 * TEMPLATE_TOKENS.perTurn + TEMPLATE_TOKENS.generationPrompt
		);
	});

	it('leaves room for one new token', () => {
		expect(fitsContext(127, 128)).toBe(true);
		expect(fitsContext(128, 128)).toBe(false);
	});
});
