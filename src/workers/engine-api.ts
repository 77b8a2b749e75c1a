/**
 * The engine worker's API, as the pages see it through comlink. Plain data in and out
 * (structured clone); callbacks are passed with Comlink.proxy.
 */

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

export interface EngineApi {
	/** WebGPU availability, adapter, features and the limits that matter. */
	gpuReport(): Promise<GpuReport>;
	/** Runs a small kernel on the worker's device and compares it with the float64 CPU reference. */
	kernelCheck(size: number, seed: number): Promise<KernelCheck>;
}
