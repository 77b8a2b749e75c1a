/**
 * The engine worker's API, as the pages see it through comlink. Plain data in and out
 * (structured clone; File objects clone too); callbacks are passed with Comlink.proxy.
 */
import type { Gemma2Config } from '../model/config';
import type { RunStatus, SamplingSettings } from '../data/types';
import type { TrainingEvent } from '../training/training-job';

export type { TrainingEvent };

export interface GpuReport {
	available: boolean;
	/** Why WebGPU is not usable (no navigator.gpu, no adapter, device request failed). */
	reason?: string;
	adapter?: { vendor: string; architecture: string; device: string; description: string };
	features: { shaderF16: boolean; subgroups: boolean; all: string[] };
	limits: {
		maxBufferSize: number;
		maxStorageBufferBindingSize: number;
		maxComputeWorkgroupStorageSize: number;
		maxComputeInvocationsPerWorkgroup: number;
	};
}

export interface KernelCheck {
	kernel: string;
	size: number;
	maxAbsError: number;
	maxRelError: number;
}

/** Where a model comes from. */
export type ModelSource =
	/** A Hugging Face hub repo (or a mirror with the same `{base}/{repo}/resolve/{rev}/{file}` layout). */
	| { kind: 'hub'; repo: string; revision: string; baseUrl?: string }
	/** A model folder served over HTTP (a classroom server, the e2e fixtures). */
	| { kind: 'url'; url: string }
	/**
	 * A folder the user picked or dropped: no network at all. `paths[i]` is files[i]'s path inside
	 * the folder when the browser does not set `webkitRelativePath` (a dropped folder).
	 */
	| { kind: 'files'; name: string; files: File[]; paths?: string[] };

export interface LoadProgress {
	phase: 'download' | 'gpu' | 'ready';
	file?: string;
	fileLoaded?: number;
	fileTotal?: number | null;
	loaded: number;
	total: number | null;
	bytesPerSecond?: number;
	etaSeconds?: number | null;
	fromCache?: boolean;
}

export interface ModelInfo {
	/** Stable id recorded with everything generated (hub repo@rev, url, or local:<folder>). */
	id: string;
	label: string;
	layout: 'hf' | 'mlc';
	quantization: string;
	config: Gemma2Config;
	gpuBytes: { current: number; peak: number; byPurpose: Record<string, number> };
	loadSeconds: number;
	/** The adapter chat applies (unmerged), if any. */
	adapter?: { id: string; name: string };
}

export interface ChatRequest {
	messages: { role: 'user' | 'model'; content: string }[];
	/** Placed at the start of the first user turn (Gemma has no system role). */
	characterPrompt?: string;
	sampling: SamplingSettings;
}

export interface ChatProgress {
	/** The whole reply so far. */
	text: string;
	tokens: number;
	tokensPerSecond: number;
}

export interface ChatResult extends ChatProgress {
	promptTokens: number;
	/** Tokens of the prompt that were already in the KV cache (earlier turns). */
	reusedTokens: number;
	stopReason: 'end-of-turn' | 'length' | 'stopped' | 'context-full';
	/** Seconds from the request to the first token. */
	firstTokenSeconds: number;
}

export interface WorkerApi {
	/** WebGPU availability, adapter, features and the limits that matter. */
	gpuReport(): Promise<GpuReport>;
	/** Runs a small kernel on the worker's device and compares it with the float64 CPU reference. */
	kernelCheck(size: number, seed: number): Promise<KernelCheck>;
	/** Downloads (or reads from the cache / picked files), uploads to the GPU, loads the tokenizer. */
	loadModel(source: ModelSource, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
	/** The loaded model, if any. */
	modelInfo(): Promise<ModelInfo | null>;
	unloadModel(): Promise<void>;
	/** Streams a reply to the conversation; `onProgress` gets the growing text. */
	chat(request: ChatRequest, onProgress?: (p: ChatProgress) => void): Promise<ChatResult>;
	/** Stops the reply being generated (the partial reply is returned by `chat`). */
	stop(): Promise<void>;
	/**
	 * Probabilities (softmax over the whole vocabulary, after the final softcap) of each of
	 * `tokenIds` as the next token after the chat rendered with a model turn opened and `modelPrefix`
	 * written into it. The local judge reads scores this way (G-Eval style).
	 */
	nextTokenProbabilities(
		input: {
			messages: { role: 'user' | 'model'; content: string }[];
			modelPrefix: string;
			characterPrompt?: string;
		},
		tokenIds: number[]
	): Promise<number[]>;
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
	setChatAdapter(adapterId: string | null): Promise<ModelInfo>;
}
