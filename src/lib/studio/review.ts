/**
 * Review: a person goes over the judged dialogues. Scores are read from the latest judgment of a
 * dialogue for a rubric key (older judgments stay in the database as history).
 *
 * Criterion selection: a `criterion` key reads that criterion's score; 'min' reads the lowest of the
 * judgment's criteria (the seeds' "anything the judge scored ≤ 2" means: any criterion ≤ 2).
 *
 * The bulk rule touches only pending dialogues unless `includeReviewed` is set, so a person's
 * accept is never undone by a rule.
 */
import type { StudioDatabase } from '../data/db';
import type { Dialogue, Judgment, ReviewStatus } from '../data/types';

export interface ScoreSelector {
	rubricKey: string;
	/** Criterion key, or 'min' for the lowest criterion of the judgment. Default 'min'. */
	criterion?: string | 'min';
}

/** The latest judgment per dialogue for a rubric key. */
export function latestJudgments(judgments: Judgment[], rubricKey: string): Map<string, Judgment> {
	const latest = new Map<string, Judgment>();
	for (const j of judgments) {
		if (j.rubricKey !== rubricKey) continue;
		const current = latest.get(j.dialogueId);
		if (
			!current ||
			j.createdAt > current.createdAt ||
			(j.createdAt === current.createdAt && j.rubricVersion > current.rubricVersion)
		)
			latest.set(j.dialogueId, j);
	}
	return latest;
}

export function scoreOfJudgment(
	judgment: Judgment,
	criterion: string | 'min' = 'min'
): number | undefined {
	if (criterion === 'min') {
		const values = Object.values(judgment.scores).map((s) => s.score);
		return values.length ? Math.min(...values) : undefined;
	}
	return judgment.scores[criterion]?.score;
}

export interface ScoredDialogue {
	dialogue: Dialogue;
	judgment?: Judgment;
	score?: number;
}

export function scoreDialogues(
	dialogues: Dialogue[],
	judgments: Judgment[],
	selector: ScoreSelector
): ScoredDialogue[] {
	const latest = latestJudgments(judgments, selector.rubricKey);
	return dialogues.map((dialogue) => {
		const judgment = latest.get(dialogue.id);
		return {
			dialogue,
			judgment,
			score: judgment ? scoreOfJudgment(judgment, selector.criterion) : undefined
		};
	});
}

/** Sorted by score (ascending by default, worst first); unjudged dialogues last, then by creation time. */
export function sortDialoguesByScore(
	dialogues: Dialogue[],
	judgments: Judgment[],
	selector: ScoreSelector & { direction?: 'ascending' | 'descending' }
): ScoredDialogue[] {
	return scoreDialogues(dialogues, judgments, selector).sort(byScore(selector.direction));
}

/** Worst (or best) score first; unjudged dialogues last; ties by creation time. */
function byScore(direction: 'ascending' | 'descending' = 'ascending') {
	const sign = direction === 'descending' ? -1 : 1;
	return (a: ScoredDialogue, b: ScoredDialogue): number => {
		if (a.score === undefined && b.score === undefined)
			return a.dialogue.createdAt - b.dialogue.createdAt;
		if (a.score === undefined) return 1;
		if (b.score === undefined) return -1;
		return sign * (a.score - b.score) || a.dialogue.createdAt - b.dialogue.createdAt;
	};
}

export interface DialogueFilter extends ScoreSelector {
	status?: ReviewStatus[];
	/** Inclusive bounds on the selected score; a dialogue without a score fails any bound. */
	minScore?: number;
	maxScore?: number;
	/** true: only judged; false: only unjudged; undefined: both. */
	judged?: boolean;
}

export function filterDialogues(
	dialogues: Dialogue[],
	judgments: Judgment[],
	filter: DialogueFilter
): ScoredDialogue[] {
	return scoreDialogues(dialogues, judgments, filter).filter(({ dialogue, score }) => {
		if (filter.status && !filter.status.includes(dialogue.status)) return false;
		if (filter.judged !== undefined && filter.judged !== (score !== undefined)) return false;
		if (filter.minScore !== undefined && (score === undefined || score < filter.minScore))
			return false;
		if (filter.maxScore !== undefined && (score === undefined || score > filter.maxScore))
			return false;
		return true;
	});
}

export interface BulkRejectRule extends ScoreSelector {
	/** Reject when the selected score is ≤ this. Default 2 (the seeds' rule). */
	threshold?: number;
	/** Also change dialogues a person already accepted. Default false. */
	includeReviewed?: boolean;
}

/** Ids the rule would reject (a preview; nothing is changed). */
export function planBulkReject(
	dialogues: Dialogue[],
	judgments: Judgment[],
	rule: BulkRejectRule
): string[] {
	const threshold = rule.threshold ?? 2;
	return scoreDialogues(dialogues, judgments, rule)
		.filter(
			({ dialogue, score }) =>
				score !== undefined &&
				score <= threshold &&
				dialogue.status !== 'rejected' &&
				(rule.includeReviewed || dialogue.status === 'pending')
		)
		.map(({ dialogue }) => dialogue.id);
}

/** Applies the rule to every dialogue in the database (or those given); returns the rejected ids. */
export async function applyBulkReject(
	db: StudioDatabase,
	rule: BulkRejectRule,
	dialogueIds?: string[]
): Promise<string[]> {
	return db.transaction('rw', db.dialogues, db.judgments, async () => {
		const dialogues = dialogueIds
			? ((await db.dialogues.bulkGet(dialogueIds)).filter(Boolean) as Dialogue[])
			: await db.dialogues.toArray();
		const judgments = await db.judgments.toArray();
		const ids = planBulkReject(dialogues, judgments, rule);
		const now = Date.now();
		for (const id of ids) await db.dialogues.update(id, { status: 'rejected', updatedAt: now });
		return ids;
	});
}

export async function setDialogueStatus(
	db: StudioDatabase,
	dialogueId: string,
	status: ReviewStatus
): Promise<void> {
	const changed = await db.dialogues.update(dialogueId, { status, updatedAt: Date.now() });
	if (!changed && !(await db.dialogues.get(dialogueId)))
		throw new Error(`dialogue ${dialogueId} not found`);
}

async function updateTurn(
	db: StudioDatabase,
	dialogueId: string,
	turnIndex: number,
	change: (turn: Dialogue['turns'][number]) => Dialogue['turns'][number]
): Promise<Dialogue> {
	return db.transaction('rw', db.dialogues, async () => {
		const dialogue = await db.dialogues.get(dialogueId);
		if (!dialogue) throw new Error(`dialogue ${dialogueId} not found`);
		if (!Number.isInteger(turnIndex) || turnIndex < 0 || turnIndex >= dialogue.turns.length)
			throw new Error(
				`dialogue ${dialogueId}: turn ${turnIndex} does not exist (it has ${dialogue.turns.length} turns)`
			);
		const turns = dialogue.turns.map((t, i) => (i === turnIndex ? change({ ...t }) : t));
		const updated = { ...dialogue, turns, updatedAt: Date.now() };
		await db.dialogues.put(updated);
		return updated;
	});
}

/** Replaces a turn's text; the first original text is kept in `originalContent`. */
export function editTurn(
	db: StudioDatabase,
	dialogueId: string,
	turnIndex: number,
	content: string
): Promise<Dialogue> {
	if (content.trim() === '')
		return Promise.reject(
			new Error(`dialogue ${dialogueId}: turn ${turnIndex} cannot be made empty`)
		);
	return updateTurn(db, dialogueId, turnIndex, (turn) => {
		const originalContent = turn.originalContent ?? turn.content;
		return content === originalContent
			? { ...turn, content, originalContent: undefined }
			: { ...turn, content, originalContent };
	});
}

/** Puts a turn's generated text back. */
export function revertTurn(
	db: StudioDatabase,
	dialogueId: string,
	turnIndex: number
): Promise<Dialogue> {
	return updateTurn(db, dialogueId, turnIndex, (turn) => ({
		...turn,
		content: turn.originalContent ?? turn.content,
		originalContent: undefined
	}));
}

/** Rejects (or accepts back) a single turn: dataset windows containing a rejected turn are left out. */
export function setTurnRejected(
	db: StudioDatabase,
	dialogueId: string,
	turnIndex: number,
	rejected: boolean
): Promise<Dialogue> {
	return updateTurn(db, dialogueId, turnIndex, (turn) => ({
		...turn,
		rejected: rejected || undefined
	}));
}

export interface FunnelCounts {
	generated: number;
	judged: number;
	accepted: number;
	rejected: number;
	pending: number;
}

/** generated = dialogues given; judged = those with a judgment (for rubricKey, or any rubric). */
export function funnelCounts(
	dialogues: Dialogue[],
	judgments: Judgment[],
	rubricKey?: string
): FunnelCounts {
	const judgedIds = new Set(
		judgments
			.filter((j) => rubricKey === undefined || j.rubricKey === rubricKey)
			.map((j) => j.dialogueId)
	);
	const counts: FunnelCounts = {
		generated: dialogues.length,
		judged: 0,
		accepted: 0,
		rejected: 0,
		pending: 0
	};
	for (const d of dialogues) {
		if (judgedIds.has(d.id)) counts.judged++;
		counts[d.status]++;
	}
	return counts;
}

/** The review queue: the dialogues the filter keeps, sorted by score like sortDialoguesByScore. */
export function reviewQueue(
	dialogues: Dialogue[],
	judgments: Judgment[],
	filter: DialogueFilter & { direction?: 'ascending' | 'descending' }
): ScoredDialogue[] {
	return filterDialogues(dialogues, judgments, filter).sort(byScore(filter.direction));
}

/** The rubric key with the most judgments (the one being reviewed, usually). */
export function mostJudgedRubric(judgments: Judgment[]): string | undefined {
	const counts = new Map<string, number>();
	for (const j of judgments) counts.set(j.rubricKey, (counts.get(j.rubricKey) ?? 0) + 1);
	return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** The reviewer agrees or disagrees with a judgment; choosing the same answer again clears it. */
export async function setJudgmentDecision(
	db: StudioDatabase,
	judgment: Pick<Judgment, 'id' | 'reviewerDecision'>,
	decision: 'agree' | 'disagree'
): Promise<void> {
	await db.judgments.update(judgment.id, {
		reviewerDecision: judgment.reviewerDecision === decision ? undefined : decision
	});
}

/**
 * Deletes a dialogue and its judgments (they describe only it). Datasets built from it keep their
 * examples (a dataset holds copies), and its generation job keeps its record.
 */
export async function deleteDialogue(db: StudioDatabase, id: string): Promise<void> {
	await db.transaction('rw', db.dialogues, db.judgments, async () => {
		await db.judgments.where('dialogueId').equals(id).delete();
		await db.dialogues.delete(id);
	});
}
