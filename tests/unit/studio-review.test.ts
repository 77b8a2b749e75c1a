import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { Dialogue, Judgment } from '../../src/lib/data/types';
import {
	applyBulkReject,
	deleteDialogue,
	editTurn,
	filterDialogues,
	funnelCounts,
	mostJudgedRubric,
	planBulkReject,
	reviewQueue,
	revertTurn,
	setDialogueStatus,
	setJudgmentDecision,
	setTurnRejected,
	sortDialoguesByScore
} from '../../src/lib/studio/review';
import { windowDialogue } from '../../src/lib/studio/dataset';

const dialogue = (id: string, status: Dialogue['status'] = 'pending', createdAt = 0): Dialogue => ({
	id,
	characterId: 'c',
	language: 'en',
	origin: 'generated',
	status,
	createdAt,
	updatedAt: createdAt,
	turns: [
		{ role: 'model', content: 'Q?' },
		{ role: 'user', content: 'A.' },
		{ role: 'model', content: 'B?' }
	]
});
const judgment = (
	dialogueId: string,
	tone: number,
	flow: number,
	createdAt = 1,
	rubricKey = 'tone-flow-en'
): Judgment => ({
	id: newId(),
	dialogueId,
	rubricId: 'r',
	rubricKey,
	rubricVersion: 1,
	judge: { kind: 'local', model: 'm' },
	scores: { tone: { score: tone }, flow: { score: flow } },
	comment: '',
	createdAt
});

const dialogues = [
	dialogue('a', 'pending', 1),
	dialogue('b', 'pending', 2),
	dialogue('c', 'accepted', 3),
	dialogue('d', 'pending', 4)
];
const judgments = [
	judgment('a', 4, 3),
	judgment('b', 1, 4),
	judgment('c', 2, 2),
	judgment('a', 1, 1, 0) /* older, ignored */
];

describe('sorting and filtering by score', () => {
	it('sorts worst first by the lowest criterion, unjudged last', () => {
		expect(
			sortDialoguesByScore(dialogues, judgments, { rubricKey: 'tone-flow-en' }).map((s) => [
				s.dialogue.id,
				s.score
			])
		).toEqual([
			['b', 1],
			['c', 2],
			['a', 3],
			['d', undefined]
		]);
	});

	it('sorts by one criterion, descending', () => {
		expect(
			sortDialoguesByScore(dialogues, judgments, {
				rubricKey: 'tone-flow-en',
				criterion: 'flow',
				direction: 'descending'
			}).map((s) => s.dialogue.id)
		).toEqual(['b', 'a', 'c', 'd']);
	});

	it('filters by score range, status and judged', () => {
		expect(
			filterDialogues(dialogues, judgments, { rubricKey: 'tone-flow-en', maxScore: 2 }).map(
				(s) => s.dialogue.id
			)
		).toEqual(['b', 'c']);
		expect(
			filterDialogues(dialogues, judgments, {
				rubricKey: 'tone-flow-en',
				status: ['pending'],
				minScore: 3
			}).map((s) => s.dialogue.id)
		).toEqual(['a']);
		expect(
			filterDialogues(dialogues, judgments, { rubricKey: 'tone-flow-en', judged: false }).map(
				(s) => s.dialogue.id
			)
		).toEqual(['d']);
	});
});

describe('bulk reject', () => {
	it("plans rejecting pending dialogues scored ≤ 2 on any criterion, sparing a person's accept", () => {
		expect(planBulkReject(dialogues, judgments, { rubricKey: 'tone-flow-en' })).toEqual(['b']);
		expect(
			planBulkReject(dialogues, judgments, { rubricKey: 'tone-flow-en', includeReviewed: true })
		).toEqual(['b', 'c']);
	});

	it('uses the configured threshold and criterion', () => {
		expect(
			planBulkReject(dialogues, judgments, {
				rubricKey: 'tone-flow-en',
				criterion: 'flow',
				threshold: 3
			})
		).toEqual(['a']);
		expect(
			planBulkReject(dialogues, judgments, {
				rubricKey: 'tone-flow-en',
				criterion: 'tone',
				threshold: 0
			})
		).toEqual([]);
	});

	it('applies the rule in the database', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await db.dialogues.bulkAdd(dialogues);
		await db.judgments.bulkAdd(judgments);
		expect(await applyBulkReject(db, { rubricKey: 'tone-flow-en' })).toEqual(['b']);
		expect((await db.dialogues.get('b'))?.status).toBe('rejected');
		expect((await db.dialogues.get('a'))?.status).toBe('pending');
		db.close();
	});
});

describe('turn review', () => {
	it('keeps the original text when a turn is edited, and can revert it', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await db.dialogues.add(dialogue('x'));
		await editTurn(db, 'x', 2, 'Better?');
		await editTurn(db, 'x', 2, 'Even better?');
		let d = (await db.dialogues.get('x'))!;
		expect(d.turns[2]).toEqual({ role: 'model', content: 'Even better?', originalContent: 'B?' });
		d = await revertTurn(db, 'x', 2);
		expect(d.turns[2]).toEqual({ role: 'model', content: 'B?' });
		await expect(editTurn(db, 'x', 9, 'no')).rejects.toThrow(
			/turn 9 does not exist \(it has 3 turns\)/
		);
		await expect(editTurn(db, 'x', 1, '  ')).rejects.toThrow(/cannot be made empty/);
		db.close();
	});

	it('rejects a single turn so datasets leave its window out, and accepts/rejects whole dialogues', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await db.dialogues.add(dialogue('x'));
		const d = await setTurnRejected(db, 'x', 2, true);
		expect(windowDialogue(d.turns, { kind: 'exchange' })).toEqual([]);
		await setDialogueStatus(db, 'x', 'accepted');
		expect((await db.dialogues.get('x'))?.status).toBe('accepted');
		await expect(setDialogueStatus(db, 'nope', 'accepted')).rejects.toThrow(
			/dialogue nope not found/
		);
		db.close();
	});
});

describe('funnel', () => {
	it('counts generated → judged → accepted', () => {
		expect(funnelCounts(dialogues, judgments)).toEqual({
			generated: 4,
			judged: 3,
			accepted: 1,
			rejected: 0,
			pending: 3
		});
		expect(funnelCounts(dialogues, judgments, 'personality-en').judged).toBe(0);
	});
});

describe('the review page', () => {
	it('queues the pending dialogues worst first, unjudged last, best first on request', () => {
		const ids = (direction?: 'ascending' | 'descending') =>
			reviewQueue(dialogues, judgments, {
				rubricKey: 'tone-flow-en',
				status: ['pending'],
				direction
			}).map((q) => q.dialogue.id);
		expect(ids()).toEqual(['b', 'a', 'd']);
		expect(ids('descending')).toEqual(['a', 'b', 'd']);
	});

	it('opens on the rubric with the most judgments', () => {
		expect(mostJudgedRubric([...judgments, judgment('a', 1, 1, 5, 'other')])).toBe('tone-flow-en');
		expect(mostJudgedRubric([])).toBeUndefined();
	});

	it('records agree/disagree (again: cleared) and deletes a dialogue with its judgments only', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await db.dialogues.bulkAdd([dialogue('a'), dialogue('b')]);
		const [ja, jb] = [judgment('a', 1, 1), judgment('b', 2, 2)];
		await db.judgments.bulkAdd([ja, jb]);
		await setJudgmentDecision(db, ja, 'agree');
		expect((await db.judgments.get(ja.id))?.reviewerDecision).toBe('agree');
		await setJudgmentDecision(db, { id: ja.id, reviewerDecision: 'agree' }, 'agree');
		expect((await db.judgments.get(ja.id))?.reviewerDecision).toBeUndefined();
		await deleteDialogue(db, 'a');
		expect(await db.dialogues.get('a')).toBeUndefined();
		expect(await db.judgments.get(ja.id)).toBeUndefined();
		expect(await db.dialogues.get('b')).toBeDefined();
		expect(await db.judgments.get(jb.id)).toBeDefined();
		db.close();
	});
});
