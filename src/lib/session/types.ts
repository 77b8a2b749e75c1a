/**
 * What the model session takes and gives: plain data (structured-cloneable, so it crosses the
 * worker boundary as is; File objects clone too).
 */
import type { Gemma2Config } from '../model/config';
import type { SamplingSettings } from '../data/types';
import type { KernelPaths } from '../webgpu/device';

export interface GpuReport {
	available: boolean;
	/** Why WebGPU is not usable (no navigator.gpu, no adapter, device request failed). */
	reason?: string;
	adapter?: { vendor: string; architecture: string; device: string; description: string };
	features: { shaderF16: boolean; subgroups: boolean; all: string[] };
	/** The kernel paths chosen from the device's features (webgpu/device.ts kernelPaths). */
	paths: KernelPaths;
	limits: {
		maxBufferSize: number;
		maxStorageBufferBindingSize: number;
		maxComputeWorkgroupStorageSize: number;
		maxComputeInvocationsPerWorkgroup: number;
	};
}

/** A small RMSNorm run on the worker's device (the test compares it with the float64 reference). */
export interface RmsNormProbe {
	/** [rows, size] row-major */
	x: Float32Array;
	/** [size] */
	weight: Float32Array;
	rows: number;
	size: number;
	eps: number;
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

/** The chat a G-Eval judge scores: rendered with a model turn opened and `modelPrefix` in it. */
export interface NextTokenInput {
	messages: { role: 'user' | 'model'; content: string }[];
	modelPrefix: string;
	characterPrompt?: string;
}
