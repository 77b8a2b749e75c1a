/**
 * The engine worker: owns the GPU device and (later) the one copy of the model weights. Thin: it
 * adapts src/lib/webgpu (and src/lib/lora) to the EngineApi that pages call through comlink.
 */
import * as Comlink from 'comlink';
import { describeAdapter, requestEngineDevice, type EngineDevice } from '../lib/webgpu/device';
import { RmsNormKernel } from '../lib/webgpu/kernels/rmsnorm';
import { rmsnormForward } from '../lib/reference/ops';
import { seededRandom } from '../lib/reference/random-model';
import type { EngineApi, GpuReport, KernelCheck } from './engine-api';

let enginePromise: Promise<EngineDevice> | undefined;

function device(): Promise<EngineDevice> {
	enginePromise ??= requestEngineDevice({
		onLost: () => {
			// The next call asks for a fresh device instead of using a dead one.
			enginePromise = undefined;
		}
	});
	return enginePromise;
}

const noGpu = (reason: string): GpuReport => ({
	available: false,
	reason,
	features: { shaderF16: false, subgroups: false, all: [] },
	limits: {
		maxBufferSize: 0,
		maxStorageBufferBindingSize: 0,
		maxComputeWorkgroupStorageSize: 0,
		maxComputeInvocationsPerWorkgroup: 0
	}
});

async function readBack(dev: GPUDevice, src: GPUBuffer, bytes: number): Promise<Float32Array> {
	const staging = dev.createBuffer({
		size: bytes,
		usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ
	});
	const enc = dev.createCommandEncoder();
	enc.copyBufferToBuffer(src, 0, staging, 0, bytes);
	dev.queue.submit([enc.finish()]);
	await staging.mapAsync(GPUMapMode.READ);
	const out = new Float32Array(staging.getMappedRange().slice(0));
	staging.destroy();
	return out;
}

const api: EngineApi = {
	async gpuReport() {
		if (!('gpu' in navigator) || !navigator.gpu)
			return noGpu(
				'navigator.gpu is not defined in the worker: this browser does not expose WebGPU.'
			);
		try {
			const { adapter, device: dev } = await device();
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
					shaderF16: dev.features.has('shader-f16'),
					subgroups: dev.features.has('subgroups'),
					all: [...adapter.features].sort()
				},
				limits: {
					maxBufferSize: dev.limits.maxBufferSize,
					maxStorageBufferBindingSize: dev.limits.maxStorageBufferBindingSize,
					maxComputeWorkgroupStorageSize: dev.limits.maxComputeWorkgroupStorageSize,
					maxComputeInvocationsPerWorkgroup: dev.limits.maxComputeInvocationsPerWorkgroup
				}
			};
		} catch (e) {
			return noGpu(e instanceof Error ? e.message : String(e));
		}
	},

	async kernelCheck(size: number, seed: number): Promise<KernelCheck> {
		const { device: dev } = await device();
		const T = 3;
		const rnd = seededRandom(seed);
		const x = Float32Array.from({ length: T * size }, () => rnd() * 4 - 2);
		const w = Float32Array.from({ length: size }, () => 0.5 + rnd());
		const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
		const make = (data: Float32Array) => {
			const b = dev.createBuffer({ size: data.byteLength, usage });
			dev.queue.writeBuffer(b, 0, data);
			return b;
		};
		const xb = make(x);
		const wb = make(w);
		const yb = make(new Float32Array(T * size));
		const enc = dev.createCommandEncoder();
		new RmsNormKernel(dev).encode(enc, xb, wb, yb, T, size, 1e-6);
		dev.queue.submit([enc.finish()]);
		const got = await readBack(dev, yb, T * size * 4);
		const want = rmsnormForward(Float64Array.from(x), w, T, size, 1e-6);
		let maxAbs = 0;
		let maxRel = 0;
		for (let i = 0; i < want.length; i++) {
			const err = Math.abs(got[i] - want[i]);
			maxAbs = Math.max(maxAbs, err);
			maxRel = Math.max(maxRel, err / Math.max(1e-6, Math.abs(want[i])));
		}
		for (const b of [xb, wb, yb]) b.destroy();
		return { kernel: 'rmsnorm_forward', size, maxAbsError: maxAbs, maxRelError: maxRel };
	}
};

Comlink.expose(api);
