import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { newId, StudioDatabase } from '../../src/lib/data/db';
import { readSetting, SETTINGS } from '../../src/lib/data/settings';
import { chatTurn, type TurnModel } from '../../src/lib/chat/turn';
import { TEMPLATE_TOKENS } from '../../src/lib/chat/context';
import { DEFAULT_SAMPLING } from '../../src/lib/chat/defaults';
import type { ChatProgress, ChatRequest } from '../../src/lib/worker/api';

const fresh = () => new StudioDatabase(`test-${newId()}`);
const sampling = { ...DEFAULT_SAMPLING, maxNewTokens: 7 };

/** A model whose tokenizer gives one token per character and whose reply is scripted. */
function scripted(reply: (request: ChatRequest, progress: (p: ChatProgress) => void) => string) {
	const requests: ChatRequest[] = [];
	const model: TurnModel = {
		ref: { model: 'test/tiny' },
		contextLength: 64,
		encode: async (texts) => texts.map((t) => [...t].map((_, i) => i)),
		chat: async (request, onProgress) => {
			requests.push(request);
			const text = reply(request, onProgress);
			return { text, tokens: text.length, tokensPerSecond: 10, firstTokenSeconds: 0.1 } as never;
		}
	};
	return { model, requests };
}

const hooks = () => {
	const seen: { saved: number[]; progress: string[] } = { saved: [], progress: [] };
	return {
		seen,
		hooks: {
			saved: (_s: unknown, tokens: number) => seen.saved.push(tokens),
			progress: (p: ChatProgress) => seen.progress.push(p.text)
		}
	};
};

describe('a chat turn', () => {
	it('saves the message with the character prompt, streams, saves the reply and the sampling', async () => {
		const db = fresh();
		const { model, requests } = scripted((_r, progress) => {
			progress({ text: 'Wh', tokens: 1, tokensPerSecond: 5 } as ChatProgress);
			return 'Why?';
		});
		const { seen, hooks: h } = hooks();
		const out = await chatTurn(
			db,
			model,
			{ session: null, text: 'Hi', characterPrompt: 'Be brief.', sampling },
			h
		);
		expect(out.kind).toBe('answered');
		if (out.kind !== 'answered') return;
		expect(out.session!.messages.map((m) => [m.role, m.content])).toEqual([
			['user', 'Hi'],
			['model', 'Why?']
		]);
		expect(out.session!.characterPrompt).toBe('Be brief.');
		expect(requests[0].characterPrompt).toBe('Be brief.');
		expect(requests[0].sampling.maxNewTokens).toBe(7);
		// "Be brief.\n\nHi" is 13 characters, one token each
		const turn = TEMPLATE_TOKENS.bos + 13 + TEMPLATE_TOKENS.perTurn;
		expect(seen.saved).toEqual([turn + TEMPLATE_TOKENS.generationPrompt]);
		expect(seen.progress).toEqual(['Wh']);
		expect((await readSetting(SETTINGS.chatSampling))?.maxNewTokens).toBe(7);
		db.close();
	});

	it('refuses a message over the context before anything is saved', async () => {
		const db = fresh();
		const { model, requests } = scripted(() => 'never');
		const { seen, hooks: h } = hooks();
		const text = 'x'.repeat(60);
		const out = await chatTurn(
			db,
			model,
			{ session: null, text, characterPrompt: '', sampling },
			h
		);
		expect(out).toEqual({
			kind: 'too-long',
			tokens: TEMPLATE_TOKENS.bos + 60 + TEMPLATE_TOKENS.perTurn + TEMPLATE_TOKENS.generationPrompt,
			limit: 64
		});
		expect(requests).toEqual([]);
		expect(seen.saved).toEqual([]);
		expect(await db.chats.count()).toBe(0);
		db.close();
	});

	/** "Hello" sent in a new conversation to a model that fails as `reply` does. */
	async function failedTurn(db: StudioDatabase, reply: Parameters<typeof scripted>[0]) {
		const out = await chatTurn(
			db,
			scripted(reply).model,
			{ session: null, text: 'Hello', characterPrompt: '', sampling },
			hooks().hooks
		);
		if (out.kind !== 'failed') throw new Error(`expected a failed turn, got ${out.kind}`);
		return out;
	}

	it('takes an unanswered message back (a new conversation goes with it)', async () => {
		const db = fresh();
		const out = await failedTurn(db, () => {
			throw new Error('device lost');
		});
		expect((out.error as Error).message).toBe('device lost');
		expect(out.takenBack).toBe('Hello');
		expect(out.session).toBeNull();
		expect(await db.chats.count()).toBe(0);
		db.close();
	});

	it('keeps a message the model began to answer before it failed', async () => {
		const db = fresh();
		const out = await failedTurn(db, (_r, progress) => {
			progress({ text: 'Well', tokens: 1, tokensPerSecond: 5 } as ChatProgress);
			throw new Error('stopped badly');
		});
		expect(out.takenBack).toBeNull();
		expect(out.session!.messages.map((m) => m.content)).toEqual(['Hello']);
		expect(await db.chats.count()).toBe(1);
		db.close();
	});

	it('takes the message back when Stop comes before the first token (no empty reply is saved)', async () => {
		const db = fresh();
		const first = await chatTurn(
			db,
			scripted(() => 'Why?').model,
			{ session: null, text: 'Hi', characterPrompt: '', sampling },
			hooks().hooks
		);
		if (first.kind !== 'answered') throw new Error(first.kind);
		const stopped: TurnModel = {
			...scripted(() => '').model,
			chat: async () => ({ text: '', tokens: 0, stopReason: 'stopped' }) as never
		};
		const out = await chatTurn(
			db,
			stopped,
			{ session: first.session, text: 'And then?', characterPrompt: '', sampling },
			hooks().hooks
		);
		expect(out).toMatchObject({ kind: 'stopped', takenBack: 'And then?' });
		const kept = await db.chats.get(first.session!.id);
		expect(kept!.messages.map((m) => [m.role, m.content])).toEqual([
			['user', 'Hi'],
			['model', 'Why?']
		]);
		db.close();
	});
});
