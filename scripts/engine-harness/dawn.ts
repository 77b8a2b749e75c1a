/**
 * WebGPU in plain Node through Dawn (the `webgpu` package, dawn.node): puts Dawn's WebGPU classes
 * and constants (GPUBufferUsage, GPUMapMode, …) on globalThis and a `navigator.gpu`, so the engine
 * (which only reads `navigator.gpu` and those globals, never the DOM) runs unchanged.
 *
 * Dawn options come from WEBGPU_DAWN_FLAGS, whitespace-separated, e.g.
 *   WEBGPU_DAWN_FLAGS='backend=vulkan enable-dawn-features=allow_unsafe_apis'
 * (an unknown `backend=` or `adapter=` makes Dawn list what it has). On Linux Dawn uses Vulkan: it
 * needs the Vulkan loader (libvulkan.so.1) and a driver (VK_DRIVER_FILES picks an ICD json).
 */
import { create, globals } from 'webgpu';
import type { AdapterInfoText, BenchRunner } from './bench-main';
import type { BenchOptions, BenchResult } from './bench';

let installed: GPU | undefined;

/** Installs Dawn's globals and `navigator.gpu` (once); returns the GPU object. */
export function installDawn(
	flags: string[] = (process.env.WEBGPU_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean)
): GPU {
	if (installed) return installed;
	Object.assign(globalThis, globals);
	const gpu = create(flags);
	// Node ≥ 21 has its own `navigator` (a getter on globalThis, without `gpu`): define over it.
	Object.defineProperty(globalThis, 'navigator', {
		value: { gpu },
		configurable: true,
		writable: true
	});
	installed = gpu;
	return gpu;
}

/**
 * Drops the reference to Dawn's GPU object: dawn.node keeps Node alive while it is reachable
 * (https://issues.chromium.org/issues/387965810).
 */
export function uninstallDawn(): void {
	delete (globalThis as { navigator?: unknown }).navigator;
	installed = undefined;
}

/** A runner that calls `runBench` in this process, on Dawn. `close` also runs `onClose`. */
export function dawnRunner(
	runBench: (o: BenchOptions) => Promise<BenchResult>,
	onClose?: () => Promise<void>
): BenchRunner {
	const gpu = installDawn();
	return {
		where: 'Node (Dawn)',
		async adapterInfo(): Promise<AdapterInfoText | null> {
			const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
			if (!a)
				throw new Error(
					'Dawn found no WebGPU adapter: is a Vulkan driver installed (libvulkan.so.1 and an ICD; VK_DRIVER_FILES)?'
				);
			const i = a.info;
			return { vendor: i.vendor, architecture: i.architecture, description: i.description };
		},
		run: runBench,
		async close() {
			await onClose?.();
			uninstallDawn();
		}
	};
}
