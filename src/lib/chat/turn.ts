/**
 * One turn of chat, as the chat page runs it: the user's message is counted against the model's
 * context first (nothing is saved when it does not fit), then saved, answered by the model
 * (streaming through `progress`) and the reply saved. When the model fails, or is stopped, before
 * any text, the message is taken back out of the conversation so it can be sent again (an empty
 * reply would leave two user turns in a row, which Gemma's template refuses).
 */
import type { StudioDatabase } from '../data/db';
import { SETTINGS, writeSetting } from '../data/settings';
import type { ChatSession, ModelRef, SamplingSettings } from '../data/types';
import type { ChatProgress, ChatRequest, ChatResult } from '../worker/api';
import { fitsContext, promptTokenCount } from './context';
import { addModelReply, addUserMessage, takeBackUserMessage } from './conversations';

/** The loaded model as a turn uses it (the worker's `encode` and `chat`). */
export interface TurnModel {
	ref: ModelRef;
	contextLength: number;
	encode(texts: string[]): Promise<number[][]>;
	chat(request: ChatRequest, onProgress: (p: ChatProgress) => void): Promise<ChatResult>;
}

export interface TurnInput {
	/** The open conversation, or null for a new one. */
	session: ChatSession | null;
	text: string;
	/** The character prompt a new conversation starts with (an open one keeps its own). */
	characterPrompt: string;
	sampling: SamplingSettings;
}

export type TurnOutcome =
	| { kind: 'too-long'; tokens: number; limit: number }
	| { kind: 'answered'; session: ChatSession | null; result: ChatResult }
	/** Stopped before the first token: nothing is answered, and the message is taken back. */
	| { kind: 'stopped'; session: ChatSession | null; takenBack: string }
	/** `session` is the conversation after a taken-back message (null once it is deleted). */
	| { kind: 'failed'; error: unknown; session: ChatSession | null; takenBack: string | null };

export async function chatTurn(
	db: StudioDatabase,
	model: TurnModel,
	input: TurnInput,
	hooks: {
		/** The message is saved and the prompt (this many tokens) is being processed. */
		saved(session: ChatSession, promptTokens: number): void;
		progress(p: ChatProgress): void;
	}
): Promise<TurnOutcome> {
	const { session, text, sampling } = input;
	const characterPrompt = session ? session.characterPrompt : input.characterPrompt;
	const messages = [...(session?.messages ?? []), { role: 'user' as const, content: text }];
	// refused before anything is saved: a message over the context would break every later send
	const tokens = await promptTokenCount(
		(texts) => model.encode(texts),
		messages.map((m) => ({ role: m.role, content: m.content })),
		characterPrompt
	);
	if (!fitsContext(tokens, model.contextLength))
		return { kind: 'too-long', tokens, limit: model.contextLength };
	const s = await addUserMessage(
		db,
		session,
		{ model: model.ref, characterPrompt, sampling },
		text
	);
	await writeSetting(SETTINGS.chatSampling, sampling);
	hooks.saved(s, tokens);
	let partial = '';
	try {
		const result = await model.chat(
			{
				messages: s.messages.map((m) => ({ role: m.role, content: m.content })),
				characterPrompt: s.characterPrompt || undefined,
				sampling
			},
			(p) => {
				partial = p.text;
				hooks.progress(p);
			}
		);
		if (result.text === '' && result.stopReason === 'stopped') {
			const takenBack = (await takeBackUserMessage(db, s.id)) ?? text;
			return { kind: 'stopped', session: (await db.chats.get(s.id)) ?? null, takenBack };
		}
		const answered = await addModelReply(db, s.id, {
			content: result.text,
			tokensPerSecond: result.tokensPerSecond
		});
		return { kind: 'answered', session: answered, result };
	} catch (error) {
		// nothing answered: the message goes back into the box instead of staying in the chat
		const takenBack = partial ? null : await takeBackUserMessage(db, s.id);
		const after = takenBack === null ? s : ((await db.chats.get(s.id)) ?? null);
		return { kind: 'failed', error, session: after, takenBack };
	}
}
