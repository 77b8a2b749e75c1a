/**
 * Issue 12 · a full quota during a dataset import, a checkpoint or an adapter import gives a clear
 * error and leaves the database as it was: the record is written whole or not at all.
 */
import 'fake-indexeddb/auto';
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { describeError } from '../../src/lib/i18n/describe-error';
import { i18n } from '../../src/lib/i18n/index.svelte';
import { isSessionError, registerSessionErrorTransfer } from '../../src/lib/session/errors';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { Checkpoint, Dataset } from '../../src/lib/data/types';
import { StorageFullError, isQuotaError, writeWhole } from '../../src/lib/data/storage-write';

/** Make the n-th next object-store write (add/put) fail as a full disk does; 0 = the next one. */
function quotaAfter(n: number) {
	const proto = (
		globalThis as unknown as { IDBObjectStore: { prototype: Record<string, unknown> } }
	).IDBObjectStore.prototype;
	const originals = { add: proto.add, put: proto.put } as Record<
		string,
		(...a: unknown[]) => unknown
	>;
	let left = n;
	for (const name of ['add', 'put'] as const)
		proto[name] = function (this: unknown, ...args: unknown[]) {
			if (left-- === 0)
				throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
			return originals[name].apply(this, args);
		};
	restore = () => Object.assign(proto, originals);
}
let restore = () => {};
afterEach(() => restore());

const dataset = (name: string): Dataset => ({
	id: newId(),
	name,
	origin: 'imported',
	train: [
		{
			messages: [
				{ role: 'user', content: 'hi' },
				{ role: 'model', content: 'hello' }
			]
		}
	],
	eval: [],
	createdAt: 1,
	updatedAt: 1
});

describe('a full quota leaves the database consistent', () => {
	it('a dataset import: StorageFullError naming it, no record', async () => {
		const db = new StudioDatabase(`quota-${newId()}`);
		quotaAfter(0);
		const err = await writeWhole(db, [db.datasets], 'my dialogues', () =>
			db.datasets.add(dataset('my dialogues'))
		).catch((e) => e);
		restore();
		expect(err).toBeInstanceOf(StorageFullError);
		expect(err.message).toMatch(/storage for this site is full: my dialogues was not saved/);
		expect(await db.datasets.count()).toBe(0);
		db.close();
	});

	it('mid-transaction: the writes before the failing one are rolled back too', async () => {
		const db = new StudioDatabase(`quota-${newId()}`);
		await db.datasets.add(dataset('kept'));
		quotaAfter(1); // the first write succeeds, the second hits the quota
		const err = await writeWhole(db, [db.datasets], 'two datasets', async () => {
			await db.datasets.add(dataset('first half'));
			await db.datasets.add(dataset('second half'));
		}).catch((e) => e);
		restore();
		expect(err).toBeInstanceOf(StorageFullError);
		expect((await db.datasets.toArray()).map((d) => d.name)).toEqual(['kept']);
		db.close();
	});

	it('a checkpoint: the new one and the pruning of the old land together or not at all', async () => {
		const db = new StudioDatabase(`quota-${newId()}`);
		const runId = newId();
		const ckpt = (step: number) =>
			({ id: newId(), runId, step, createdAt: step, best: false }) as unknown as Checkpoint;
		await db.checkpoints.bulkAdd([ckpt(10), ckpt(20)]);
		const save = (step: number) =>
			writeWhole(db, [db.checkpoints], `checkpoint at step ${step}`, async () => {
				await db.checkpoints.put(ckpt(step));
				const all = await db.checkpoints.where('runId').equals(runId).sortBy('step');
				await db.checkpoints.bulkDelete(all.slice(0, -2).map((c) => c.id));
			});
		quotaAfter(0);
		await expect(save(30)).rejects.toThrow(/checkpoint at step 30 was not saved/);
		restore();
		const steps = async () =>
			(await db.checkpoints.where('runId').equals(runId).sortBy('step')).map((c) => c.step);
		expect(await steps()).toEqual([10, 20]);
		await save(30);
		expect(await steps()).toEqual([20, 30]);
		db.close();
	});

	it('an adapter record (as saveAdapterRecord writes it): StorageFullError naming it, no record', async () => {
		const db = new StudioDatabase(`quota-${newId()}`);
		quotaAfter(0);
		const err = await writeWhole(db, [db.adapters], 'hf:me/lora', () =>
			db.adapters.add({
				id: newId(),
				name: 'hf:me/lora',
				base: { model: 'tiny' },
				origin: 'imported',
				configJson: '{}',
				weights: new Blob([new Uint8Array(16)]),
				r: 2,
				loraAlpha: 4,
				targetModules: ['q_proj'],
				createdAt: 1,
				updatedAt: 1
			})
		).catch((e) => e);
		restore();
		expect(err).toBeInstanceOf(StorageFullError);
		expect(err.what).toBe('hf:me/lora');
		expect(await db.adapters.count()).toBe(0);
		db.close();
	});

	it('any failure inside aborts the whole transaction (as a page closed mid-write does)', async () => {
		const db = new StudioDatabase(`quota-${newId()}`);
		await expect(
			writeWhole(db, [db.datasets], 'x', async () => {
				await db.datasets.add(dataset('half'));
				throw new Error('the page went away');
			})
		).rejects.toThrow('the page went away');
		expect(await db.datasets.count()).toBe(0);
		db.close();
	});

	it('recognises quota errors however they are wrapped', () => {
		const q = new DOMException('full', 'QuotaExceededError');
		expect(isQuotaError(q)).toBe(true);
		expect(isQuotaError({ name: 'AbortError', inner: q })).toBe(true);
		expect(isQuotaError(new Error('x'))).toBe(false);
	});
});

describe('a full quota inside the worker reaches the page as a typed error', () => {
	afterEach(() => (i18n.locale = 'en'));

	it('a checkpoint saved by the worker: SessionError storage-full naming it, worded in en and ja', async () => {
		registerSessionErrorTransfer();
		const db = new StudioDatabase(`quota-${newId()}`);
		const runId = newId();
		// the worker side: a training run saving its checkpoint, as training-job.ts does
		const { port1, port2 } = new MessageChannel();
		Comlink.expose(
			{
				saveCheckpoint: (step: number) =>
					writeWhole(db, [db.checkpoints], `checkpoint at step ${step}`, () =>
						db.checkpoints.put({
							id: newId(),
							runId,
							step,
							createdAt: step
						} as unknown as Checkpoint)
					)
			},
			port1 as unknown as Comlink.Endpoint
		);
		const worker = Comlink.wrap<{ saveCheckpoint(step: number): Promise<string> }>(
			port2 as unknown as Comlink.Endpoint
		);
		quotaAfter(0);
		const e = await worker.saveCheckpoint(40).catch((x: unknown) => x);
		restore();
		expect(isSessionError(e, 'storage-full') && e.params).toEqual({
			what: 'checkpoint at step 40'
		});
		expect(await db.checkpoints.count()).toBe(0);
		i18n.locale = 'en';
		expect(describeError(e)).toMatch(
			/storage for this site is full: checkpoint at step 40 was not/
		);
		i18n.locale = 'ja';
		expect(describeError(e)).toMatch(
			/保存領域がいっぱいです。checkpoint at step 40は保存されませんでした/
		);
		// on the page itself (a dataset import) the same words come from the untyped error
		expect(describeError(new StorageFullError('my dialogues', null))).toMatch(/保存領域がいっぱい/);
		port1.close();
		port2.close();
		db.close();
	});
});
