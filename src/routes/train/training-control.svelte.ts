/**
 * The run this page drives in the engine worker, as state the page renders: at most one at a time
 * (a second Start while one is starting or running does nothing — no twin runs), what it is doing
 * (preparing, a step, evaluating n/N with an ETA, checkpointing, pausing), and the last error.
 * One instance for the app (`trainingControl`): leaving the page and coming back finds the run
 * still driven, not "interrupted" with a Resume that would queue a twin behind it.
 */
import * as Comlink from 'comlink';
import { worker } from '$lib/worker/client';
import type { TrainingEvent } from '$lib/worker/api';
import type { StepReport } from '$lib/training/trainer';

export type RunPhase =
	| { kind: 'preparing' }
	| { kind: 'training' }
	| { kind: 'evaluating'; done: number; total: number; etaSeconds: number | null }
	| { kind: 'checkpointing' }
	| { kind: 'pausing' }
	| { kind: 'stopping' };

export class TrainingControl {
	activeRunId = $state<string | null>(null);
	starting = $state(false);
	phase = $state<RunPhase | null>(null);
	lastStep = $state<StepReport | null>(null);
	error = $state<unknown>(null);
	private stopping: 'pausing' | 'stopping' | null = null;
	private evalStarted = 0;

	get busy(): boolean {
		return this.starting || this.activeRunId !== null;
	}

	/** Creates the run (validated by `create`) and trains it; ignored while a run starts or runs. */
	async start(create: () => Promise<string>): Promise<void> {
		if (this.busy) return;
		this.starting = true;
		this.error = null;
		let id: string;
		try {
			id = await create();
		} catch (e) {
			this.error = e;
			this.starting = false;
			return;
		}
		await this.drive(id);
	}

	/** Trains (or resumes) a stored run. */
	async drive(runId: string): Promise<void> {
		if (this.activeRunId) return;
		this.activeRunId = runId;
		this.starting = false;
		this.error = null;
		this.lastStep = null;
		this.stopping = null;
		this.phase = { kind: 'preparing' };
		try {
			await worker().train(
				runId,
				Comlink.proxy((e: TrainingEvent) => this.onEvent(e))
			);
		} catch (e) {
			this.error = e;
		} finally {
			this.activeRunId = null;
			this.phase = null;
			this.stopping = null;
		}
	}

	pause(): void {
		this.stopping = 'pausing';
		this.phase = { kind: 'pausing' };
		void worker().pauseTraining();
	}

	stop(): void {
		this.stopping = 'stopping';
		this.phase = { kind: 'stopping' };
		void worker().stopTraining();
	}

	private onEvent(e: TrainingEvent): void {
		if (e.kind === 'step') this.lastStep = e.report;
		if (this.stopping) {
			// the run finishes its step and checkpoints before it stops: keep saying so
			this.phase = { kind: this.stopping };
			return;
		}
		if (e.kind === 'phase' && e.phase === 'evaluating') {
			const done = e.done ?? 0;
			const total = e.total ?? 0;
			if (done === 0) this.evalStarted = performance.now();
			const elapsed = (performance.now() - this.evalStarted) / 1000;
			this.phase = {
				kind: 'evaluating',
				done,
				total,
				etaSeconds: done > 0 ? (elapsed / done) * (total - done) : null
			};
		} else if (e.kind === 'phase')
			this.phase = { kind: e.phase === 'preparing' ? 'preparing' : 'checkpointing' };
		else if (e.kind === 'step' || e.kind === 'eval' || e.kind === 'checkpoint')
			this.phase = { kind: 'training' };
	}
}

export const trainingControl = new TrainingControl();
