/**
 * Benchmarks, in headless Chromium or in Node on Dawn (driven by scripts/bench.ts; bundled for GPU
 * machines without a browser by scripts/build-bench-node.mjs): a plain copy kernel to measure
 * the device's memory bandwidth, then prefill and decode of the tiny model and of a random-weight
 * model with the real Gemma-2 2B shapes (q4f16_1, generated on the fly — nothing is downloaded).
 * Figures only; nothing here asserts a time.
 */
import { requestEngineDevice } from '../../src/lib/webgpu/device';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { ComputeKernel, ceilDiv, packUniforms } from '../../src/lib/webgpu/kernel';
import {
	GEMMA2_2B_CONFIG,
	TINY_CONFIG,
	projectionShape,
	randomWeights
} from '../../src/lib/reference/random-model';
import type { Gemma2Config } from '../../src/lib/model/config';
import {
	PROJECTIONS,
	f32ToF16,
	type Gemma2Weights,
	type Linear,
	type ProjectionName
} from '../../src/lib/model/weights';

export interface BenchOptions {
	/** Tokens of the prefill measurement. */
	prefillTokens: number;
	/** Decode steps measured for the 2B-shaped model (SwiftShader: a few). */
	decodeTokens2b: number;
	skip2b: boolean;
}

export interface ModelBench {
	name: string;
	weightsBytes: number;
	prefillTokens: number;
	prefillTokensPerSecond: number;
	decodeTokens: number;
	decodeTokensPerSecond: number;
	/** Weight bytes read per decoded token / time per token. */
	decodeGBps: number;
	peakGpuBytes: number;
	byPurpose: Record<string, number>;
	createSeconds: number;
	firstTokenSeconds: number;
}

export interface BenchResult {
	adapter: { vendor: string; architecture: string; description: string; software: boolean };
	features: { shaderF16: boolean; subgroups: boolean };
	copyGBps: number;
	models: ModelBench[];
}

const COPY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
struct P { n: u32, stride: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
	let i = g.x + g.y * p.stride;
	if (i < p.n) { dst[i] = src[i]; }
}`;

/** Read + write bandwidth of a plain copy (bytes moved = 2 × size), best of several runs. */
async function copyBandwidth(device: GPUDevice): Promise<number> {
	const bytes = Math.min(
		256 * 2 ** 20,
		device.limits.maxStorageBufferBindingSize,
		device.limits.maxBufferSize
	);
	const usage = GPUBufferUsage.STORAGE;
	const a = device.createBuffer({ size: bytes, usage });
	const b = device.createBuffer({ size: bytes, usage });
	const kernel = new ComputeKernel(device, {
		label: 'bench.copy',
		code: COPY_WGSL,
		entryPoint: 'main'
	});
	const n = bytes / 16;
	const groups = ceilDiv(n, 256);
	const x = Math.min(groups, 65535);
	const y = ceilDiv(groups, x);
	const run = async (reps: number) => {
		const enc = device.createCommandEncoder();
		for (let r = 0; r < reps; r++)
			kernel.dispatch(
				enc,
				[a, b],
				[x, y],
				packUniforms([
					['u', n],
					['u', x * 256]
				])
			);
		const t0 = performance.now();
		device.queue.submit([enc.finish()]);
		await device.queue.onSubmittedWorkDone();
		return (performance.now() - t0) / 1000;
	};
	await run(1); // warm-up (pipeline compile)
	let best = Infinity;
	for (let i = 0; i < 3; i++) best = Math.min(best, (await run(4)) / 4);
	a.destroy();
	b.destroy();
	return (2 * bytes) / best / 1e9;
}

/** Random q4f16 weights with the given shapes, made directly (quantizing f32 would need 10 GB). */
function randomQ4Weights(c: Gemma2Config, seed: number): Gemma2Weights {
	let s = seed >>> 0 || 1;
	const next = () => {
		s ^= s << 13;
		s >>>= 0;
		s ^= s >>> 17;
		s ^= s << 5;
		return (s >>>= 0);
	};
	const scaleBits = new Uint16Array(256);
	for (let i = 0; i < 256; i++) scaleBits[i] = f32ToF16((0.5 + i / 256) / (7 * 16));
	const q4 = (rows: number, cols: number): Linear => {
		const qweight = new Uint32Array((rows * cols) / 8);
		for (let i = 0; i < qweight.length; i++) qweight[i] = next() & 0xeeeeeeee; // nibbles ≤ 14
		const bits = new Uint16Array((rows * cols) / 32);
		for (let i = 0; i < bits.length; i++) bits[i] = scaleBits[next() & 255];
		return { kind: 'q4', rows, cols, qweight, scales: { dtype: 'f16', bits } };
	};
	const norm = () => new Float32Array(c.hiddenSize).fill(1);
	return {
		config: c,
		embed: q4(c.vocabSize, c.hiddenSize),
		finalNorm: norm(),
		layers: Array.from({ length: c.numLayers }, () => {
			const proj = {} as Record<ProjectionName, Linear>;
			for (const p of PROJECTIONS) proj[p] = q4(...projectionShape(c, p));
			return {
				inputNorm: norm(),
				postAttnNorm: norm(),
				preFfnNorm: norm(),
				postFfnNorm: norm(),
				proj
			};
		})
	};
}

function linearBytes(l: Linear): number {
	if (l.kind === 'f32') return l.data.byteLength;
	return (
		l.qweight.byteLength +
		(l.scales.dtype === 'f16' ? l.scales.bits.byteLength : l.scales.data.byteLength)
	);
}

/** Bytes of weights one decoded token reads: every layer projection, one embedding row, the LM head. */
function weightBytes(w: Gemma2Weights): { total: number; perToken: number } {
	let layers = 0;
	for (const l of w.layers) for (const p of PROJECTIONS) layers += linearBytes(l.proj[p]);
	const embed = linearBytes(w.embed);
	return {
		total: layers + embed,
		perToken: layers + embed /* LM head reads the whole tied matrix */
	};
}

async function benchModel(
	device: GPUDevice,
	name: string,
	w: Gemma2Weights,
	prefillTokens: number,
	decodeTokens: number
): Promise<ModelBench> {
	const t0 = performance.now();
	const engine = await Gemma2Engine.create(device, w, {
		maxTokens: prefillTokens + decodeTokens + 8
	});
	await device.queue.onSubmittedWorkDone();
	const createSeconds = (performance.now() - t0) / 1000;
	const V = w.config.vocabSize;
	const prompt = Array.from({ length: prefillTokens }, (_, i) =>
		i === 0 ? 2 : 200 + ((i * 7919) % (V - 200))
	);
	try {
		// Warm-up: compiles every pipeline (prefill and decode shapes) outside the timings.
		await engine.prefill(prompt.slice(0, Math.min(2, prefillTokens)));
		await engine.sample({ temperature: 0 });
		await engine.append([3]);
		engine.reset();

		const tp = performance.now();
		await engine.prefill(prompt);
		const first = await engine.sample({ temperature: 0 });
		const prefillSeconds = (performance.now() - tp) / 1000;

		let id = first;
		const td = performance.now();
		for (let i = 0; i < decodeTokens; i++) {
			await engine.append([id]);
			id = await engine.sample({ temperature: 0 });
		}
		const decodeSeconds = (performance.now() - td) / 1000;
		const mem = engine.memoryReport();
		const bytes = weightBytes(w);
		return {
			name,
			weightsBytes: bytes.total,
			prefillTokens,
			prefillTokensPerSecond: prefillTokens / prefillSeconds,
			decodeTokens,
			decodeTokensPerSecond: decodeTokens / decodeSeconds,
			decodeGBps: (bytes.perToken * decodeTokens) / decodeSeconds / 1e9,
			peakGpuBytes: mem.peak,
			byPurpose: { ...mem.byPurpose },
			createSeconds,
			firstTokenSeconds: prefillSeconds
		};
	} finally {
		engine.destroy();
	}
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
	const { device, report, features } = await requestEngineDevice();
	const copyGBps = await copyBandwidth(device);
	const models: ModelBench[] = [];
	models.push(
		await benchModel(
			device,
			'tiny (q4f16_1)',
			randomWeights(TINY_CONFIG, 1, 'q4f16'),
			opts.prefillTokens,
			32
		)
	);
	if (!opts.skip2b) {
		const w = randomQ4Weights(GEMMA2_2B_CONFIG, 1);
		models.push(
			await benchModel(
				device,
				'Gemma-2 2B shapes, random q4f16_1',
				w,
				opts.prefillTokens,
				opts.decodeTokens2b
			)
		);
	}
	device.destroy();
	return {
		adapter: {
			vendor: report.vendor,
			architecture: report.architecture,
			description: report.description,
			software: report.software
		},
		features,
		copyGBps,
		models
	};
}

// The browser page reaches it through globalThis; Node imports `runBench`. No DOM is used here.
(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench;
(globalThis as unknown as { benchReady: boolean }).benchReady = true;
