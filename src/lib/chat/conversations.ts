/**
 * Chat conversations as the chat page keeps them: created on the first message, saved after every
 * message, renamed, deleted, searched, and the one open when chat was left reopened on return. The
 * page renders and dispatches; every database write of chat is here.
 */
import { liveQuery, type Observable } from 'dexie';
import { newId, type StudioDatabase } from '../data/db';
import { readSetting, SETTINGS, writeSetting } from '../data/settings';
import type { Character, ChatSession, ModelRef, SamplingSettings } from '../data/types';
import { chatTitle } from './defaults';

export const TITLE_MAX_LENGTH = 120;

/** What a new conversation starts with (taken from the page when its first message is sent). */
export interface ConversationSetup {
	model: ModelRef;
	characterPrompt: string;
	sampling: SamplingSettings;
}

/** Every conversation, newest first, as it changes. */
export function watchConversations(db: StudioDatabase): Observable<ChatSession[]> {
	return liveQuery(() => db.chats.orderBy('updatedAt').reverse().toArray());
}

/** The studio's characters by name, as they change (chat's character choice). */
export function watchCharacters(db: StudioDatabase): Observable<Character[]> {
	return liveQuery(() => db.characters.orderBy('name').toArray());
}

/** Adds the user's message (creating the conversation on the first) and remembers it as the last. */
export async function addUserMessage(
	db: StudioDatabase,
	session: ChatSession | null,
	setup: ConversationSetup,
	text: string,
	now = Date.now()
): Promise<ChatSession> {
	const s: ChatSession = session
		? structuredClone(session)
		: {
				id: newId(),
				title: chatTitle(text),
				model: setup.model,
				characterPrompt: setup.characterPrompt,
				sampling: setup.sampling,
				messages: [],
				createdAt: now,
				updatedAt: now
			};
	s.messages.push({ role: 'user', content: text, createdAt: now });
	s.updatedAt = now;
	await db.chats.put(s);
	await rememberConversation(db, s.id);
	return s;
}

/** Adds the model's reply to a saved conversation (read afresh: it may have been renamed meanwhile). */
export async function addModelReply(
	db: StudioDatabase,
	id: string,
	reply: { content: string; tokensPerSecond?: number },
	now = Date.now()
): Promise<ChatSession | null> {
	const s = await db.chats.get(id);
	if (!s) return null; // deleted while the reply was written
	s.messages.push({ role: 'model', createdAt: now, ...reply });
	s.updatedAt = now;
	await db.chats.put(s);
	return s;
}

/**
 * Takes back a user message the model never answered (the send failed before any reply): the
 * conversation is as it was, and is deleted if that message was its only one. Returns the text.
 */
export async function takeBackUserMessage(db: StudioDatabase, id: string): Promise<string | null> {
	const s = await db.chats.get(id);
	const last = s?.messages.at(-1);
	if (!s || last?.role !== 'user') return null;
	s.messages.pop();
	if (s.messages.length === 0) await deleteConversation(db, id);
	else await db.chats.put(s);
	return last.content;
}

export class ConversationTitleError extends Error {
	constructor(readonly title: string) {
		super(`A conversation title must be 1–${TITLE_MAX_LENGTH} characters (got ${title.length}).`);
		this.name = 'ConversationTitleError';
	}
}

export async function renameConversation(
	db: StudioDatabase,
	id: string,
	title: string
): Promise<void> {
	const clean = title.trim().replace(/\s+/g, ' ');
	if (!clean || clean.length > TITLE_MAX_LENGTH) throw new ConversationTitleError(clean);
	await db.chats.update(id, { title: clean });
}

/** Deletes one conversation (nothing else); forgets it as the last one. */
export async function deleteConversation(db: StudioDatabase, id: string): Promise<void> {
	await db.chats.delete(id);
	if ((await readSetting(SETTINGS.chatLastConversation, db)) === id)
		await rememberConversation(db, null);
}

/** Conversations whose title or any message contains every word of the query (case and width folded). */
export function searchConversations(list: ChatSession[], query: string): ChatSession[] {
	const fold = (s: string) => s.normalize('NFKC').toLowerCase();
	const words = fold(query).split(/\s+/).filter(Boolean);
	if (words.length === 0) return list;
	return list.filter((s) => {
		const text = fold([s.title, ...s.messages.map((m) => m.content)].join('\n'));
		return words.every((w) => text.includes(w));
	});
}

export function rememberConversation(db: StudioDatabase, id: string | null): Promise<void> {
	return writeSetting(SETTINGS.chatLastConversation, id, db);
}

/** The conversation open when chat was left, if it still exists. */
export async function lastConversation(db: StudioDatabase): Promise<ChatSession | null> {
	const id = await readSetting(SETTINGS.chatLastConversation, db);
	return id ? ((await db.chats.get(id)) ?? null) : null;
}
