/**
 * Training runs in IndexedDB, as the Train page changes them: a run is created only from
 * arguments that parse (no dead "queued" run for a value the trainer would refuse), renamed, and
 * deleted with its checkpoints (the adapters saved from it stay: they are the user's results).
 */
import { parseTrainingConfig, type LoraConfig, type TrainingArguments } from '../lora/config';
import { newId, type StudioDatabase } from './db';
import type { JudgeEvaluationSettings, TrainingRun } from './types';

export interface NewRun {
	name: string;
	modelId: string;
	datasetId: string;
	training: TrainingArguments;
	lora: LoraConfig;
	/** Judge scores at every evaluation (issue 14). */
	judgeEvaluation?: JudgeEvaluationSettings;
}

/** Writes a queued run; throws TrainingConfigError (field, rule) before writing if an argument is invalid. */
export async function createRun(db: StudioDatabase, run: NewRun): Promise<string> {
	parseTrainingConfig({ training: run.training, lora: run.lora });
	const now = Date.now();
	const id = newId();
	await db.runs.add({
		id,
		name: run.name,
		base: { model: run.modelId },
		datasetId: run.datasetId,
		trainingArgs: structuredClone(run.training) as unknown as Record<string, unknown>,
		loraConfig: structuredClone(run.lora) as unknown as Record<string, unknown>,
		status: 'queued',
		metrics: [],
		judgeEvaluation: run.judgeEvaluation && structuredClone(run.judgeEvaluation),
		createdAt: now,
		updatedAt: now
	});
	return id;
}

export async function renameRun(db: StudioDatabase, id: string, name: string): Promise<void> {
	const trimmed = name.trim();
	if (!trimmed) throw new Error('a run name cannot be empty');
	await db.runs.update(id, { name: trimmed, updatedAt: Date.now() });
}

/** Deletes the run and its checkpoints in one transaction; its adapters keep working (runId stays as history). */
export async function deleteRun(db: StudioDatabase, id: string): Promise<void> {
	await db.transaction('rw', db.runs, db.checkpoints, async () => {
		await db.checkpoints.where('runId').equals(id).delete();
		await db.runs.delete(id);
	});
}

/** The newest loss of a run, for the runs table. */
export function lastLoss(run: TrainingRun): { step: number; loss: number } | null {
	const m = run.metrics.filter((x) => x.loss !== undefined).at(-1);
	return m ? { step: m.step, loss: m.loss! } : null;
}

/** The curves of a run as the Train page draws them, and the best checkpoint to mark. */
export interface RunCurves {
	loss: { x: number; y: number }[];
	evalLoss: { x: number; y: number }[];
	learningRate: { x: number; y: number }[];
	/** The newest checkpoint marked best, at its eval loss (null: no evaluation yet). */
	best: { step: number; evalLoss: number } | null;
	/** The fractional epoch logged at a step. */
	epochAt: (step: number) => number | undefined;
}

export function runCurves(
	run: TrainingRun,
	checkpoints: { step: number; best?: boolean }[]
): RunCurves {
	const series = (pick: (m: TrainingRun['metrics'][number]) => number | undefined) =>
		run.metrics.flatMap((m) => {
			const y = pick(m);
			return y !== undefined && Number.isFinite(y) ? [{ x: m.step, y }] : [];
		});
	const evalLoss = series((m) => m.evalLoss);
	const bestStep = Math.max(-1, ...checkpoints.filter((c) => c.best).map((c) => c.step));
	const bestEval = evalLoss.findLast((p) => p.x === bestStep);
	const epochs = new Map(run.metrics.map((m) => [m.step, m.epoch]));
	return {
		loss: series((m) => m.loss),
		evalLoss,
		learningRate: series((m) => m.learningRate),
		best: bestEval ? { step: bestStep, evalLoss: bestEval.y } : null,
		epochAt: (step) => epochs.get(step)
	};
}
