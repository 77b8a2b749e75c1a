import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { ChatSession } from '../../src/lib/data/types';
import { measuredReplySpeed } from '../../src/lib/chat/reply-speed';

const chat = (model: string, updatedAt: number, speeds: (number | undefined)[]): ChatSession => ({
	id: newId(),
	title: 't',
	model: { model },
	characterPrompt: '',
	sampling: { temperature: 1, topK: 40, topP: 0.9, repetitionPenalty: 1, maxNewTokens: 64 },
	messages: speeds.flatMap((tokensPerSecond, i) => [
		{ role: 'user' as const, content: 'q', createdAt: i },
		{ role: 'model' as const, content: 'a', createdAt: i, tokensPerSecond }
	]),
	createdAt: 0,
	updatedAt
});

describe("the generation speed chat measured (the judge evaluation's time estimate)", () => {
	it('is the median of the newest replies of the same model; null when there is none', async () => {
		const db = new StudioDatabase(`speed-${newId()}`);
		expect(await measuredReplySpeed(db, 'gemma')).toBeNull();
		await db.chats.bulkAdd([
			chat('gemma', 3, [10, undefined, 30]),
			chat('other', 4, [500, 500]),
			chat('gemma', 2, [20, 0, 1000])
		]);
		// newest conversation first, its newest reply first; unmeasured (absent, 0) replies skipped
		expect(await measuredReplySpeed(db, 'gemma', 3)).toBe(30); // 30, 10, 1000
		expect(await measuredReplySpeed(db, 'gemma', 2)).toBe(20); // 30, 10
		expect(await measuredReplySpeed(db, 'gemma')).toBe(25); // 30, 10, 1000, 20
		expect(await measuredReplySpeed(db, 'missing')).toBeNull();
		db.close();
	});
});
