import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';

describe('database version 2: judge evaluation replies', () => {
	it('a version-1 database opens as version 2 with its runs kept and an evalReplies table', async () => {
		const name = `test-${newId()}`;
		const v1 = new Dexie(name);
		v1.version(1).stores({ runs: 'id, status, datasetId, updatedAt', settings: 'key' });
		await v1.table('runs').add({ id: 'r1', name: 'old run', status: 'completed', metrics: [] });
		v1.close();

		const db = new StudioDatabase(name);
		expect((await db.runs.get('r1'))?.name).toBe('old run');
		expect(db.verno).toBe(2);
		const reply = (step: number, index: number) => ({
			id: newId(),
			runId: 'r1',
			step,
			index,
			prompt: [{ role: 'user' as const, content: 'q' }],
			reply: 'a',
			createdAt: 0
		});
		await db.evalReplies.bulkPut([reply(20, 0), reply(20, 1), reply(40, 0)]);
		expect(await db.evalReplies.where('[runId+step]').equals(['r1', 20]).count()).toBe(2);
		// what a resume at step 20 removes
		await db.evalReplies.where('[runId+step]').between(['r1', 21], ['r1', Infinity]).delete();
		expect(await db.evalReplies.where('runId').equals('r1').count()).toBe(2);
		db.close();
	});
});
