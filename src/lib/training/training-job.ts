/**
 * A training run as the studio runs it: in the engine worker, over the chat engine's weights (one
 * copy on the GPU), reading the run and its dataset from IndexedDB and writing metrics and
 * checkpoints back as it goes. Closing the tab loses at most the steps since the last checkpoint;
 * `TrainingJob.run` on the same run id resumes from it and continues the same loss curve.
 */
import type { StudioDatabase } from '../data/db';
import { newId } from '../data/db';
import { saveAdapterRecord } from '../data/adapters';
import type {
	Checkpoint,
	Dataset,
	JudgeEvaluationSettings,
	RunStatus,
	TrainingMetric
} from '../data/types';
import type { Gemma2Config } from '../model/config';
import type { Gemma2Engine } from '../webgpu/gemma2/forward';
import { createLoraAdapter } from '../lora/adapter';
import { parseTrainingConfig } from '../lora/config';
import { chatToExample, type ChatTokenizer, type TrainingExample } from '../lora/examples';
import { createTrainingStack, type TrainingStack } from './stack';
import type { EvalReport, LoraTrainer, StepReport, TrainerState } from './trainer';
import { writeWhole } from '../data/storage-write';
import { checkBestMetric, checkpointsToDelete } from '../lora/best-metric';
import type { Tokenizer } from '../model/tokenizer';
import { pickEvalPrompts } from '../studio/eval-prompts';
import { scoreMetricNames } from '../studio/judge-scores';
import { DEFAULT_JUDGE_SAMPLING, type RemoteJudgeSettings } from '../studio/judge';
import { loadJudgeSettings } from '../studio/judge-settings';
import { judgeMetric } from './judge-evaluation';

export interface TrainingJobContext {
	engine: Gemma2Engine;
	tokenizer: ChatTokenizer;
	/** The model's whole tokenizer: a run with a judge evaluation generates and judges replies. */
	chatTokenizer?: Pick<Tokenizer, 'encode' | 'encodeChat' | 'renderChat' | 'decode'>;
	config: Gemma2Config;
	/** Recorded on the adapter (hub repo id or local folder). */
	modelId: string;
	db: StudioDatabase;
}

export type TrainingEvent =
	| { kind: 'status'; status: RunStatus; message?: string }
	| { kind: 'step'; report: StepReport }
	| { kind: 'eval'; report: EvalReport }
	| { kind: 'checkpoint'; step: number }
	/** What the run is doing between steps (done / total: examples of the eval set). */
	| {
			kind: 'phase';
			phase: 'preparing' | 'evaluating' | 'checkpointing';
			done?: number;
			total?: number;
	  }
	| { kind: 'adapter'; adapterId: string };

/**
 * The remote judge of a run's evaluation: its endpoint and model, with the API key the Judge page
 * keeps for that same endpoint (none for another one: a local server needs none).
 */
async function remoteJudgeSettings(
	db: StudioDatabase,
	remote: NonNullable<JudgeEvaluationSettings['remoteJudge']>
): Promise<RemoteJudgeSettings> {
	const saved = await loadJudgeSettings(db);
	const sameServer = saved.endpoint.trim() === remote.endpoint.trim();
	return { ...remote, apiKey: (sameServer && saved.apiKey) || undefined, temperature: 0 };
}

/** The newest checkpoint of a run (the one a resume starts from). */
export async function latestCheckpoint(
	db: StudioDatabase,
	runId: string
): Promise<Checkpoint | undefined> {
	return db.checkpoints.where('[runId+step]').between([runId, -Infinity], [runId, Infinity]).last();
}

export class TrainingJob {
	private trainer: LoraTrainer | null = null;
	private stopKind: 'pause' | 'stop' | null = null;
	/** Aborts a judge evaluation in progress when the run is paused or stopped. */
	private readonly evaluation = new AbortController();

	constructor(
		private readonly ctx: TrainingJobContext,
		readonly runId: string
	) {}

	/**
	 * Stop after the current example (mid-step: the step's partial gradients are kept) and checkpoint
	 * to resume from. A judge evaluation in progress stops at once; the checkpoint is marked so that
	 * a resume runs it first.
	 */
	pause(): void {
		this.stopKind = 'pause';
		this.trainer?.stop();
		this.evaluation.abort();
	}

	/** Stop after the current optimizer step (or during its judge evaluation); the run ends (its checkpoints stay). */
	stop(): void {
		this.stopKind = 'stop';
		this.trainer?.stop();
		this.evaluation.abort();
	}

	async run(onEvent: (e: TrainingEvent) => void = () => {}): Promise<RunStatus> {
		const { db, engine, tokenizer, config } = this.ctx;
		const run = await db.runs.get(this.runId);
		if (!run) throw new Error(`training run ${this.runId} not found`);
		if (!run.datasetId) throw new Error(`training run "${run.name}" has no dataset`);
		const dataset = await db.datasets.get(run.datasetId);
		if (!dataset) throw new Error(`dataset ${run.datasetId} of run "${run.name}" not found`);
		onEvent({ kind: 'phase', phase: 'preparing' });
		const { training, lora: loraConfig } = parseTrainingConfig({
			training: run.trainingArgs,
			lora: run.loraConfig
		});
		const tokenize = (rows: { messages: unknown }[], split: string): TrainingExample[] =>
			rows.map((row, i) => {
				try {
					return chatToExample(row, tokenizer, { vocabSize: config.vocabSize }, i + 1);
				} catch (e) {
					throw new Error(
						`dataset "${dataset.name}", ${split} example ${i + 1}: ${e instanceof Error ? e.message : e}`
					);
				}
			});
		const train = tokenize(dataset.train, 'train');
		const evalSet = tokenize(dataset.eval, 'eval');
		const maxLen = Math.max(...[...train, ...evalSet].map((e) => e.input_ids.length));
		if (maxLen > engine.maxTokens)
			throw new Error(`an example is ${maxLen} tokens long; the engine holds ${engine.maxTokens}`);
		// What the evaluations will record is known now: a best metric none of them produces is an
		// error before the run starts, not a run that never picks a best checkpoint.
		const judging = run.judgeEvaluation
			? await this.judgeSetup(run.judgeEvaluation, dataset)
			: null;
		checkBestMetric(training, {
			evalSet: evalSet.length > 0,
			judgeMetrics: judging ? scoreMetricNames(judging.rubric) : undefined
		});

		// Resume from the newest checkpoint; the metric series keeps only what it covers.
		const checkpoint = await latestCheckpoint(db, this.runId);
		const resume = checkpoint?.state as TrainerState | undefined;
		await db.runs.update(this.runId, {
			status: 'running',
			error: undefined,
			updatedAt: Date.now(),
			metrics: run.metrics.filter((m) => m.step <= (resume?.step ?? 0))
		});
		await db.evalReplies
			.where('[runId+step]')
			.between([this.runId, (resume?.step ?? 0) + 1], [this.runId, Infinity])
			.delete();
		onEvent({
			kind: 'status',
			status: 'running',
			message: resume ? `resumed at step ${resume.step}` : undefined
		});

		const host = resume?.adapter ?? createLoraAdapter(config, loraConfig, training.seed);
		const appendMetric = (m: TrainingMetric) =>
			db.runs
				.where('id')
				.equals(this.runId)
				.modify((r) => {
					r.metrics.push(m);
					r.updatedAt = Date.now();
				});
		const saveCheckpoint = async (state: TrainerState, best = false, evaluationPending = false) => {
			const last = state.log.filter((r): r is StepReport => 'loss' in r).at(-1);
			onEvent({ kind: 'phase', phase: 'checkpointing' });
			// the new checkpoint and the pruning of old ones land together or not at all
			await writeWhole(db, [db.checkpoints], `checkpoint at step ${state.step}`, async () => {
				// one checkpoint per step: the end of a run (or a pause) right after a save replaces it
				const sameStep = await db.checkpoints
					.where('[runId+step]')
					.equals([this.runId, state.step])
					.toArray();
				await db.checkpoints.bulkDelete(sameStep.map((c) => c.id));
				best ||= sameStep.some((c) => c.best);
				await db.checkpoints.put({
					id: newId(),
					runId: this.runId,
					step: state.step,
					state,
					dataPosition: { epoch: state.epoch, batchInEpoch: state.batchInEpoch },
					metrics: last ? { loss: last.loss, learningRate: last.learningRate } : {},
					best,
					...(evaluationPending && { evaluationPending }),
					createdAt: Date.now()
				});
				// save_total_limit, by the Trainer's rule, never deletes the best (the newest marked best:
				// an earlier best was beaten by it)
				const all = await db.checkpoints.where('runId').equals(this.runId).toArray();
				const bestStep = all
					.filter((c) => c.best)
					.sort((a, b) => a.step - b.step)
					.at(-1)?.step;
				const excess = new Set(
					checkpointsToDelete(
						all.map((c) => c.step),
						training.save_total_limit,
						bestStep
					)
				);
				await db.checkpoints.bulkDelete(all.filter((c) => excess.has(c.step)).map((c) => c.id));
			});
			onEvent({ kind: 'checkpoint', step: state.step });
		};

		// Everything on the GPU is made inside the try: whatever fails (an out-of-memory adapter, a
		// lost device), the finally gives chat back its adapter and KV cache and the run is marked
		// failed; its checkpoints stay, so it can be resumed.
		let stack: TrainingStack | null = null;
		let status: RunStatus;
		try {
			// Chat's KV cache (Gemma-2 2B: 436 MB) is freed while the stack lives, so the run fits
			// beside the weights (2B, 512 tokens, r = 16: ≈ 2.1 GB in all, not ≈ 2.5 GB).
			stack = await createTrainingStack(engine, host, {
				maxTokens: maxLen,
				args: training,
				train,
				eval: evalSet.length ? evalSet : undefined,
				resume,
				gpuBytes: () => engine.memory.current,
				onStep: (report) => {
					void appendMetric({
						step: report.step,
						epoch: report.epoch,
						loss: report.loss,
						learningRate: report.learningRate,
						gradNorm: report.gradNorm,
						tokensPerSecond: report.tokensPerSecond,
						gpuMemoryBytes: report.gpuBytes,
						time: Date.now()
					});
					onEvent({ kind: 'step', report });
				},
				onEval: (report) => {
					void appendMetric({
						step: report.step,
						epoch: report.epoch,
						evalLoss: report.evalLoss,
						scores: report.metrics,
						time: Date.now()
					});
					onEvent({ kind: 'eval', report });
				},
				onEvalProgress: (done, total) =>
					onEvent({ kind: 'phase', phase: 'evaluating', done, total }),
				metric: judging
					? judgeMetric({
							...judging,
							engine,
							tokenizer: this.ctx.chatTokenizer!,
							runId: this.runId,
							modelId: this.ctx.modelId,
							signal: this.evaluation.signal,
							onReplies: async (replies) => void (await db.evalReplies.bulkPut(replies)),
							onProgress: (done, total) =>
								onEvent({ kind: 'phase', phase: 'evaluating', done, total })
						})
					: undefined,
				onSave: (state) => saveCheckpoint(state, state.best?.step === state.step)
			});
			this.trainer = stack.trainer;
			const lora = stack.lora;
			// A pause during an evaluation (the judge's replies take minutes on a 2B model) ends it at
			// once; the step's checkpoint is marked and a resume runs that evaluation first, with the
			// same adapter, prompts and seeds: the same series as a run never paused.
			let evaluationPending = false;
			try {
				if (checkpoint?.evaluationPending) {
					const report = await this.trainer.evaluate();
					await saveCheckpoint(await this.trainer.state(), report.isBest);
				}
				if (!this.stopKind) await this.trainer.run();
			} catch (e) {
				if (!this.stopKind || (e as Error)?.name !== 'AbortError') throw e;
				evaluationPending = true;
			}
			if (this.trainer.finished && !evaluationPending) {
				// the final checkpoint first: when the best is the last step it replaces that step's
				// checkpoint, which the adapter then names
				await saveCheckpoint(await this.trainer.state());
				// load_best_model_at_end: the run's adapter is the best checkpoint's
				const best = training.load_best_model_at_end ? this.trainer.bestEval : null;
				const bestCheckpoint = best
					? await db.checkpoints.where('[runId+step]').equals([this.runId, best.step]).first()
					: undefined;
				const adapterId = await this.saveAdapter(
					bestCheckpoint ? (bestCheckpoint.state as TrainerState).adapter : await lora.download(),
					run.name,
					training.seed,
					bestCheckpoint
				);
				status = 'completed';
				onEvent({ kind: 'adapter', adapterId });
			} else {
				await saveCheckpoint(await this.trainer.state(), false, evaluationPending);
				status = this.stopKind === 'stop' ? 'stopped' : 'paused';
			}
			await db.runs.update(this.runId, { status, updatedAt: Date.now() });
		} catch (e) {
			const message = e instanceof Error ? e.message : String(e);
			await db.runs.update(this.runId, { status: 'failed', error: message, updatedAt: Date.now() });
			onEvent({ kind: 'status', status: 'failed', message });
			throw e;
		} finally {
			this.trainer = null;
			stack?.destroy();
			engine.reset();
		}
		onEvent({ kind: 'status', status });
		return status;
	}

	private saveAdapter(
		adapter: Awaited<ReturnType<TrainingStack['lora']['download']>>,
		name: string,
		seed: number,
		/** load_best_model_at_end: the checkpoint the adapter is (its step goes into the metadata). */
		best?: Checkpoint
	): Promise<string> {
		return saveAdapterRecord(this.ctx, adapter, {
			name,
			runId: this.runId,
			checkpointId: best?.id,
			origin: 'trained',
			metadata: {
				run: this.runId,
				seed: String(seed),
				...(best && { best_step: String(best.step) })
			}
		});
	}

	/** The rubric, character and fixed prompt set of a run's judge evaluation. */
	private async judgeSetup(settings: JudgeEvaluationSettings, dataset: Dataset) {
		const { db } = this.ctx;
		if (!this.ctx.chatTokenizer)
			throw new Error('judge evaluation: this engine was given no chat tokenizer');
		const rubric = await db.rubrics.get(settings.rubricId);
		if (!rubric) throw new Error(`judge evaluation: rubric ${settings.rubricId} not found`);
		const character = await db.characters.get(settings.characterId);
		if (!character)
			throw new Error(`judge evaluation: character ${settings.characterId} not found`);
		const prompts = pickEvalPrompts(dataset.eval, settings.prompts, settings.seed);
		return {
			rubric,
			character,
			prompts,
			sampling: settings.sampling,
			judgeTokens: settings.judgeTokens ?? DEFAULT_JUDGE_SAMPLING.maxNewTokens,
			seed: settings.seed,
			remote: settings.remoteJudge && (await remoteJudgeSettings(db, settings.remoteJudge))
		};
	}
}
