/**
 * The model worker's API, as the pages see it through comlink: one member per thing a page asks of
 * the loaded model. Plain data in and out (structured clone; File objects clone too); callbacks are
 * passed with Comlink.proxy. Failures are `SessionError`s (session/errors.ts) with a code and
 * parameters, rebuilt on this side of the boundary (client.ts) and worded by i18n's describeError.
 */
import type { RunStatus } from '../data/types';
import type { TrainingEvent } from '../training/training-job';
import type * as Session from '../session/types';

export type * from '../session/types';
export type { TrainingEvent };

export interface WorkerApi {
	/** WebGPU availability, adapter, features and the limits that matter. */
	gpuReport(): Promise<Session.GpuReport>;
	/** Runs RMSNorm on the worker's device and returns its output (a test compares it with the oracle). */
	kernelCheck(probe: Session.RmsNormProbe): Promise<Float32Array>;
	/** Downloads (or reads from the cache / picked files), uploads to the GPU, loads the tokenizer. */
	loadModel(
		source: Session.ModelSource,
		onProgress?: (p: Session.LoadProgress) => void
	): Promise<Session.ModelInfo>;
	/** The loaded model, if any. */
	modelInfo(): Promise<Session.ModelInfo | null>;
	/** Streams a reply to the conversation; `onProgress` gets the growing text. */
	chat(
		request: Session.ChatRequest,
		onProgress?: (p: Session.ChatProgress) => void
	): Promise<Session.ChatResult>;
	/** Stops the reply being generated (the partial reply is returned by `chat`). */
	stop(): Promise<void>;
	/**
	 * Probabilities (softmax over the whole vocabulary, after the final softcap) of each of
	 * `tokenIds` as the next token after the chat rendered with a model turn opened and `modelPrefix`
	 * written into it. The local judge reads scores this way (G-Eval style).
	 */
	nextTokenProbabilities(input: Session.NextTokenInput, tokenIds: number[]): Promise<number[]>;
	/** Token ids of each text with the loaded model's tokenizer (no BOS). */
	encode(texts: string[]): Promise<number[][]>;
	/**
	 * Runs (or resumes, from its newest checkpoint) the training run `runId` stored in IndexedDB,
	 * on the loaded model. Metrics and checkpoints are written to the database as it goes.
	 */
	train(runId: string, onEvent?: (e: TrainingEvent) => void): Promise<RunStatus>;
	/** Pause (checkpoint, resumable) or stop the running training after its current step. */
	pauseTraining(): Promise<void>;
	stopTraining(): Promise<void>;
	/** Apply a stored adapter (db.adapters) to chat, or none. */
	setChatAdapter(adapterId: string | null): Promise<Session.ModelInfo>;
}
