/** Shared plumbing of the GPU tests: one device per test file, upload/readback, error measures. */
import { requestEngineDevice, type EngineDevice } from '../../src/lib/webgpu/device';
import { GpuMemory } from '../../src/lib/webgpu/memory';

let engineDevice: Promise<EngineDevice> | null = null;

export async function testDevice(): Promise<{ device: GPUDevice; memory: GpuMemory }> {
	// The exactness tests hold the f32 paths to f32 tolerances on every adapter: the f16 variants
	// (kernelPaths) are tested on their own, on a device asked for shader-f16.
	engineDevice ??= requestEngineDevice({ without: ['shader-f16'] });
	const { device } = await engineDevice;
	return { device, memory: new GpuMemory(device) };
}

let f16Engine: Promise<GPUDevice | null> | null = null;

/**
 * A device with shader-f16 (and subgroups where offered) for the f16 variants' own tests, or null
 * where the adapter has no shader-f16 (SwiftShader: the gpu-node layer runs them on lavapipe).
 */
export function f16TestDevice(): Promise<GPUDevice | null> {
	f16Engine ??= (async () => {
		const adapter = await navigator.gpu.requestAdapter();
		if (!adapter?.features.has('shader-f16')) return null;
		const features: GPUFeatureName[] = ['shader-f16'];
		if (adapter.features.has('subgroups')) features.push('subgroups');
		const l = adapter.limits;
		return adapter.requestDevice({
			requiredFeatures: features,
			requiredLimits: {
				maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
				maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
				maxBufferSize: l.maxBufferSize
			}
		});
	})();
	return f16Engine;
}

/** Everything an async iterable yields (e.g. the ids of Gemma2Engine.generate). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
	const out: T[] = [];
	for await (const item of items) out.push(item);
	return out;
}

/** Why the f16 variants' tests skip where they do. */
export const NO_F16 = 'no shader-f16 here (SwiftShader): the gpu-node layer runs this on lavapipe';

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export function upload(
	memory: GpuMemory,
	data: ArrayLike<number>,
	kind: 'f32' | 'u32' = 'f32'
): GPUBuffer {
	const arr = kind === 'f32' ? Float32Array.from(data) : Uint32Array.from(data);
	return memory.allocWith('test', arr, USAGE, 'scratch');
}

export function zeros(memory: GpuMemory, n: number): GPUBuffer {
	return memory.alloc('test', n * 4, USAGE, 'scratch');
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Float32Array> {
	const staging = device.createBuffer({
		size: n * 4,
		usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST
	});
	const enc = device.createCommandEncoder();
	enc.copyBufferToBuffer(buf, 0, staging, 0, n * 4);
	device.queue.submit([enc.finish()]);
	await staging.mapAsync(GPUMapMode.READ);
	const out = new Float32Array(staging.getMappedRange().slice(0));
	staging.destroy();
	return out;
}

/** Runs `encode` in one command buffer and waits for it. Fails the test on a validation error. */
export async function run(
	device: GPUDevice,
	encode: (enc: GPUCommandEncoder) => void
): Promise<void> {
	device.pushErrorScope('validation');
	const enc = device.createCommandEncoder();
	encode(enc);
	device.queue.submit([enc.finish()]);
	const err = await device.popErrorScope();
	if (err) throw new Error(`WebGPU validation error: ${err.message}`);
	await device.queue.onSubmittedWorkDone();
}

/** max |a − b| / max(|b|_∞, floor): error relative to the scale of the reference. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
	if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
	let num = 0;
	let den = floor;
	for (let i = 0; i < a.length; i++) {
		num = Math.max(num, Math.abs(a[i] - b[i]));
		den = Math.max(den, Math.abs(b[i]));
	}
	return num / den;
}

export function randomArray(n: number, rnd: () => number, scale = 1): Float64Array {
	const a = new Float64Array(n);
	// f32-representable, so the reference sees exactly what the GPU sees
	for (let i = 0; i < n; i++) a[i] = Math.fround((rnd() * 2 - 1) * scale);
	return a;
}
