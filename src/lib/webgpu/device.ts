/**
 * The GPU device the engine runs on: one adapter, one device, the limits Gemma-2 2B needs.
 *
 * - maxStorageBufferBindingSize / maxBufferSize are raised to the adapter's maximum: the q4
 *   embedding (~295 MB qweight) and the KV cache need more than the 128 MiB default. What still
 *   does not fit is split by the engine (see gemma2/weights.ts), never assumed to fit.
 * - 'shader-f16' and 'subgroups' are requested when offered and never required; kernels keep an
 *   f32 / shared-memory path. Which paths the kernels take follows from the device's features
 *   (`kernelPaths`): the GPU report and the bench show it.
 * - Device loss (driver reset, tab backgrounded too long, destroy()) is reported through `lost`.
 *
 * No DOM: works in a worker, a Vitest browser test and the headless CLI.
 */

export interface AdapterReport {
	vendor: string;
	architecture: string;
	device: string;
	description: string;
	features: { shaderF16: boolean; subgroups: boolean };
	limits: {
		maxBufferSize: number;
		maxStorageBufferBindingSize: number;
		maxComputeWorkgroupStorageSize: number;
		maxComputeInvocationsPerWorkgroup: number;
		maxComputeWorkgroupsPerDimension: number;
		maxStorageBuffersPerShaderStage: number;
	};
	/** True for a software rasterizer (SwiftShader): slow, fine for tests. */
	software: boolean;
}

export interface DeviceLostReport {
	reason: GPUDeviceLostReason | 'unknown';
	message: string;
}

/** The kernels with an f16-storage variant (f16 in workgroup memory, f32 products and sums). */
export type F16Kernel = 'attention' | 'gemv' | 'gemm';
const F16_KERNELS: readonly F16Kernel[] = ['attention', 'gemv', 'gemm'];
const F16_KERNEL_NAMES: Record<F16Kernel, string> = {
	attention: 'attention',
	gemv: 'GEMV',
	gemm: 'GEMM'
};

/**
 * The kernel variants a device gets, chosen once at load from its features (the kernels read the
 * same features, through this function):
 * - storage 'f16' (the device has 'shader-f16'): the kernels of `f16` stage their operands in f16
 *   workgroup memory and accumulate in f32 — attention its query rows and K/V blocks, the GEMV
 *   (decode) its input vector, the GEMMs (prefill, training) their x and W tiles (dx: W only);
 *   'f32' everywhere else (and `f16` is empty).
 * - subgroups: kernels with a subgroup variant use subgroup reductions and broadcasts instead of
 *   workgroup-memory trees.
 */
export interface KernelPaths {
	storage: 'f16' | 'f32';
	f16: F16Kernel[];
	subgroups: boolean;
}

export function kernelPaths(device: Pick<GPUDevice, 'features'>): KernelPaths {
	const f16 = device.features.has('shader-f16');
	return {
		storage: f16 ? 'f16' : 'f32',
		f16: f16 ? [...F16_KERNELS] : [],
		subgroups: device.features.has('subgroups')
	};
}

/**
 * One line for logs and the bench, e.g. "f16 storage (f32 accumulation): attention, GEMV, GEMM;
 * subgroups" or "f32 storage, no subgroups".
 */
export function describeKernelPaths(p: KernelPaths): string {
	const subgroups = p.subgroups ? 'subgroups' : 'no subgroups';
	if (p.storage === 'f32') return `f32 storage, ${subgroups}`;
	const kernels = p.f16.map((k) => F16_KERNEL_NAMES[k]).join(', ');
	return `f16 storage (f32 accumulation): ${kernels}; ${subgroups}`;
}

export interface EngineDevice {
	adapter: GPUAdapter;
	device: GPUDevice;
	report: AdapterReport;
	/** Features actually enabled on the device. */
	features: { shaderF16: boolean; subgroups: boolean };
	/** The kernel paths this device takes (from `features`). */
	paths: KernelPaths;
	/** Resolves when the device is lost (reason 'destroyed' after device.destroy()). */
	lost: Promise<DeviceLostReport>;
}

export class WebGpuUnavailableError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'WebGpuUnavailableError';
	}
}

function gpuApi(): GPU {
	const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
	if (!gpu)
		throw new WebGpuUnavailableError(
			'WebGPU is not available in this browser (navigator.gpu is missing)'
		);
	return gpu;
}

/** Plain JSON description of an adapter, for the settings page and the worker's status. */
export function describeAdapter(adapter: GPUAdapter): AdapterReport {
	const info = adapter.info ?? ({} as GPUAdapterInfo);
	const l = adapter.limits;
	const description = info.description ?? '';
	const vendor = info.vendor ?? '';
	return {
		vendor,
		architecture: info.architecture ?? '',
		device: info.device ?? '',
		description,
		features: {
			shaderF16: adapter.features.has('shader-f16'),
			subgroups: adapter.features.has('subgroups')
		},
		limits: {
			maxBufferSize: l.maxBufferSize,
			maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
			maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
			maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
			maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
			maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage
		},
		software: /swiftshader/i.test(`${vendor} ${description} ${info.architecture ?? ''}`)
	};
}

export interface RequestDeviceOptions {
	powerPreference?: GPUPowerPreference;
	/** Called once when the device is lost (besides the `lost` promise). */
	onLost?: (report: DeviceLostReport) => void;
	/** Leave an offered feature off (its kernels then take the f32 / workgroup-memory path). */
	without?: ('shader-f16' | 'subgroups')[];
}

/** Asks for the adapter and a device with the limits and optional features the engine uses. */
export async function requestEngineDevice(opts: RequestDeviceOptions = {}): Promise<EngineDevice> {
	const gpu = gpuApi();
	const adapter = await gpu.requestAdapter({
		powerPreference: opts.powerPreference ?? 'high-performance'
	});
	if (!adapter)
		throw new WebGpuUnavailableError('No WebGPU adapter was found (GPU blocklisted or disabled?)');

	const requiredFeatures: GPUFeatureName[] = [];
	for (const f of ['shader-f16', 'subgroups'] as const)
		if (adapter.features.has(f) && !opts.without?.includes(f)) requiredFeatures.push(f);

	const l = adapter.limits;
	const requiredLimits: Record<string, number> = {
		maxBufferSize: l.maxBufferSize,
		maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
		maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
		maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
		maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
		maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage
	};

	let device: GPUDevice;
	try {
		device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
	} catch {
		// Some implementations reject features they advertised (e.g. subgroups behind a flag): retry bare.
		device = await adapter.requestDevice({ requiredLimits });
	}
	const lost = device.lost.then((info): DeviceLostReport => {
		const report = {
			reason: info.reason ?? 'unknown',
			message: info.message ?? ''
		} as DeviceLostReport;
		opts.onLost?.(report);
		return report;
	});
	device.addEventListener?.('uncapturederror', (e: Event) => {
		console.error('WebGPU uncaptured error:', (e as GPUUncapturedErrorEvent).error?.message);
	});
	return {
		adapter,
		device,
		report: describeAdapter(adapter),
		features: {
			shaderF16: device.features.has('shader-f16'),
			subgroups: device.features.has('subgroups')
		},
		paths: kernelPaths(device),
		lost
	};
}
