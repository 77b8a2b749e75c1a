/**
 * Training by the judge (issue 14) on the tiny model, end to end in the worker's session with a
 * real IndexedDB: every evaluation generates replies with the adapter being trained, judges them
 * with the base model (adapter off) and records eval_<criterion>_score and eval_combined_score;
 * the best checkpoint is the combined score's, kept under save_total_limit, and is the run's
 * adapter under load_best_model_at_end; a run paused during an evaluation, the page reloaded (a new
 * session over the same database) and resumed records the same series; a best metric nothing
 * produces is refused before the run starts.
 *
 * Lean on purpose (the gpu layer runs on 2 CI cores): 4 steps, 2 evaluations, 1 held-out prompt,
 * replies of 2 tokens and judge comments of 1 token are enough to prove every rule. Most of the
 * time is the first training step's and the first reply's pipeline compilation, so the "reload"
 * hands the GPU device (and its compiled pipelines) to the new session; everything else — engine,
 * weights, training stack, job — is new and reads the run back from IndexedDB.
 */
import { describe, expect, it } from 'vitest';
import { adapterTensors } from '../../src/lib/lora/adapter';
import { loadStoredAdapter } from '../../src/lib/data/adapters';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import type { TrainingRun } from '../../src/lib/data/types';
import { ModelSession } from '../../src/lib/session/model-session';
import type { ModelSource } from '../../src/lib/session/types';
import type { TrainerState } from '../../src/lib/training/trainer';
import { pair, tinyCharacter, tinyRubric } from '../judge-fixtures';

const source: ModelSource = { kind: 'url', url: `${location.origin}/fixtures/tiny-hf/` };

const PROMPTS = 1;

const trainingArgs = {
	learning_rate: 5e-2,
	max_steps: 4,
	per_device_train_batch_size: 1,
	gradient_accumulation_steps: 1,
	lr_scheduler_type: 'constant',
	warmup_ratio: 0,
	eval_strategy: 'steps',
	eval_steps: 2,
	save_strategy: 'steps',
	save_steps: 2,
	logging_steps: 1,
	save_total_limit: 1,
	load_best_model_at_end: true,
	metric_for_best_model: 'combined_score',
	seed: 5
};

async function setup(db: StudioDatabase) {
	const now = Date.now();
	const characterId = newId();
	await db.characters.add(tinyCharacter(characterId, now));
	const rubricId = newId();
	await db.rubrics.add(tinyRubric(rubricId, now));
	const datasetId = newId();
	await db.datasets.add({
		id: datasetId,
		name: 'tiny',
		origin: 'user',
		// two examples, one per step: every evaluation is at an epoch's end (the pause below too)
		train: [pair('hello', 'good day'), pair('why', 'ask more')],
		eval: [pair('who', 'a friend')],
		createdAt: now,
		updatedAt: now
	} as never);
	const run = (judge: boolean): TrainingRun => ({
		id: newId(),
		name: judge ? 'judged' : 'unjudged',
		base: { model: 'tiny' },
		datasetId,
		trainingArgs,
		loraConfig: { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
		status: 'queued',
		metrics: [],
		judgeEvaluation: judge
			? {
					rubricId,
					characterId,
					prompts: PROMPTS,
					seed: 3,
					judgeTokens: 1,
					sampling: { temperature: 0, topK: 1, topP: 1, repetitionPenalty: 1, maxNewTokens: 2 }
				}
			: undefined,
		createdAt: now,
		updatedAt: now
	});
	return run;
}

const evals = (r: TrainingRun | undefined) => r!.metrics.filter((m) => m.evalLoss !== undefined);

describe('training by the judge (tiny model)', () => {
	it('records scores at each evaluation, keeps and ends with the best by combined_score, resumes after a reload with the same series', async () => {
		const db = new StudioDatabase(`judge-${newId()}`);
		let session = new ModelSession({ db: () => db });
		await session.load(source);
		const makeRun = await setup(db);

		// combined_score without a judge evaluation: refused before the run starts
		const unjudged = makeRun(false);
		await db.runs.add(unjudged);
		await expect(session.train(unjudged.id)).rejects.toThrow(
			/eval_combined_score.*judge evaluation/
		);
		expect((await db.runs.get(unjudged.id))?.status).toBe('queued');
		expect(await db.checkpoints.where('runId').equals(unjudged.id).count()).toBe(0);

		const run = makeRun(true);
		await db.runs.add(run);
		expect(await session.train(run.id)).toBe('completed');
		const done = await db.runs.get(run.id);
		const series = evals(done);
		expect(series.map((m) => m.step)).toEqual([2, 4]);
		for (const m of series) {
			const s = m.scores!;
			for (const k of ['eval_style_score', 'eval_flow_score', 'eval_combined_score']) {
				expect(s[k], `${k} at step ${m.step}`).toBeGreaterThanOrEqual(0);
				expect(s[k]).toBeLessThanOrEqual(4);
			}
			expect(s.eval_combined_score).toBeCloseTo((s.eval_style_score + s.eval_flow_score) / 2, 6);
		}
		// every evaluation's replies and judgments are kept
		const replies = await db.evalReplies.where('runId').equals(run.id).toArray();
		expect(replies).toHaveLength(2 * PROMPTS);
		for (const r of replies) expect(r.judgment ?? r.error).toBeDefined();

		// the best is the combined score's (the first of equal values), kept under save_total_limit 1
		let best = series[0];
		for (const m of series)
			if (m.scores!.eval_combined_score > best.scores!.eval_combined_score) best = m;
		const checkpoints = await db.checkpoints.where('runId').equals(run.id).sortBy('step');
		// (the Trainer's rotation: with a limit of 1 the newest stays beside an older best)
		expect(checkpoints.map((c) => c.step)).toEqual(best.step === 4 ? [4] : [best.step, 4]);
		const bestCheckpoint = checkpoints.find((c) => c.step === best.step)!;
		expect(bestCheckpoint.best).toBe(true);
		expect((bestCheckpoint.state as TrainerState).best?.metric).toBe('eval_combined_score');

		// load_best_model_at_end: the run's adapter is the best checkpoint's
		const adapter = (await db.adapters.where('runId').equals(run.id).first())!;
		expect(adapter.checkpointId).toBe(bestCheckpoint.id);
		const stored = adapterTensors(
			(await loadStoredAdapter(session.info()!.config, adapter)).adapter
		);
		const expected = adapterTensors((bestCheckpoint.state as TrainerState).adapter);
		for (const [name, values] of expected) expect(stored.get(name), name).toEqual(values);

		// the same run paused during its first evaluation (after its first reply): the evaluation
		// stops at once, nothing of it is recorded, the step's checkpoint says it is pending
		const again = makeRun(true);
		await db.runs.add(again);
		const paused = await session.train(again.id, (e) => {
			if (e.kind === 'phase' && e.phase === 'evaluating' && e.total === 2 * PROMPTS && e.done === 1)
				session.pauseTraining();
		});
		expect(paused).toBe('paused');
		expect(evals(await db.runs.get(again.id))).toEqual([]);
		expect(await db.evalReplies.where('runId').equals(again.id).count()).toBe(0);
		const pending = await db.checkpoints.where('runId').equals(again.id).toArray();
		expect(pending.map((c) => [c.step, c.evaluationPending])).toEqual([[2, true]]);

		// the page reloaded (a new session over the same database) and the run resumed: the
		// interrupted evaluation runs first, and the series is the uninterrupted run's
		session.close();
		const device = session.device();
		session = new ModelSession({ db: () => db, requestDevice: () => device });
		await session.load(source);
		let adapterId = '';
		const ended = await session.train(again.id, (e) => {
			if (e.kind === 'adapter') adapterId = e.adapterId;
		});
		expect(ended).toBe('completed');
		const resumed = evals(await db.runs.get(again.id));
		expect(resumed.map((m) => m.step)).toEqual([2, 4]);
		for (const [i, m] of resumed.entries()) {
			expect(m.evalLoss).toBeCloseTo(series[i].evalLoss!, 5);
			expect(m.epoch).toBe(series[i].epoch);
			for (const [k, v] of Object.entries(series[i].scores!))
				expect(m.scores![k], `${k} at step ${m.step}`).toBeCloseTo(v, 5);
		}
		expect(await db.evalReplies.where('runId').equals(again.id).count()).toBe(2 * PROMPTS);
		// and it ends with the same best adapter
		const resumedAdapter = adapterTensors(
			(await loadStoredAdapter(session.info()!.config, (await db.adapters.get(adapterId))!)).adapter
		);
		for (const [name, values] of expected) expect(resumedAdapter.get(name), name).toEqual(values);
		session.close();
		db.close();
	}, 480_000); // a guard for a loaded machine (measured 189–265 s with 7 parallel jobs on 2 cores)
});
