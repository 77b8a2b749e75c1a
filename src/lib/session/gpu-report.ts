/**
 * What the UI shows about WebGPU: available or why not, the adapter, its features and the limits
 * that matter. Light (no kernels): the page's first check imports it too.
 */
import { describeAdapter, kernelPaths, type EngineDevice } from '../webgpu/device';
import type { GpuReport } from './types';

export function noGpuReport(reason: string): GpuReport {
	return {
		available: false,
		reason,
		features: { shaderF16: false, subgroups: false, all: [] },
		paths: { storage: 'f32', f16: [], subgroups: false },
		limits: {
			maxBufferSize: 0,
			maxStorageBufferBindingSize: 0,
			maxComputeWorkgroupStorageSize: 0,
			maxComputeInvocationsPerWorkgroup: 0
		}
	};
}

export function gpuReport({ adapter, device }: EngineDevice): GpuReport {
	const r = describeAdapter(adapter);
	return {
		available: true,
		adapter: {
			vendor: r.vendor,
			architecture: r.architecture,
			device: r.device,
			description: r.description
		},
		features: {
			shaderF16: device.features.has('shader-f16'),
			subgroups: device.features.has('subgroups'),
			all: [...adapter.features].sort()
		},
		paths: kernelPaths(device),
		limits: {
			maxBufferSize: device.limits.maxBufferSize,
			maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
			maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
			maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup
		}
	};
}
