import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { newId, StudioDatabase } from '../../src/lib/data/db';
import { readSetting, SETTINGS, writeSetting } from '../../src/lib/data/settings';
import { JUDGE_REMOTE_SETTING, MIRROR_SETTING } from '../../src/lib/share/mirror';
import { CURATED_FINGERPRINTS_SETTING } from '../../src/lib/studio/curated';

describe('settings registry', () => {
	it('declares every key once', () => {
		const keys = Object.values(SETTINGS).map((s) => s.key);
		expect(new Set(keys).size).toBe(keys.length);
	});

	it('is where the modules that name a key take it from', () => {
		expect(MIRROR_SETTING).toBe(SETTINGS.mirror.key);
		expect(JUDGE_REMOTE_SETTING).toBe(SETTINGS.judgeRemote.key);
		expect(CURATED_FINGERPRINTS_SETTING).toBe(SETTINGS.curatedFingerprints.key);
	});

	it('reads the default until a value is written, then the value', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		expect(await readSetting(SETTINGS.chatLastConversation, db)).toBeNull();
		expect(await readSetting(SETTINGS.mirror, db)).toBe('');
		await writeSetting(SETTINGS.chatLastConversation, 'c1', db);
		await writeSetting(SETTINGS.chatSampling, { temperature: 0.2 }, db);
		expect(await readSetting(SETTINGS.chatLastConversation, db)).toBe('c1');
		expect(await readSetting(SETTINGS.chatSampling, db)).toEqual({ temperature: 0.2 });
		db.close();
	});
});
