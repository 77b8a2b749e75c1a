/**
 * Benchmarks, in headless Chromium or in Node on Dawn (driven by scripts/bench.ts; bundled for GPU
 * machines without a browser by scripts/build-bench-node.mjs): a plain copy kernel to measure
 * the device's memory bandwidth, then prefill and decode of the tiny model and of a random-weight
 * model with the real Gemma-2 2B shapes (q4f16_1, generated on the fly — nothing is downloaded).
 * Figures only; nothing here asserts a time.
 */
import { requestEngineDevice, type KernelPaths } from '../../src/lib/webgpu/device';
import { Gemma2Engine, type SamplingParams } from '../../src/lib/webgpu/gemma2/forward';
import type { GpuMemory } from '../../src/lib/webgpu/memory';
import { ComputeKernel, ceilDiv, packUniforms } from '../../src/lib/webgpu/kernel';
import { GpuCallCounter, type GpuCallCounts } from '../../src/lib/webgpu/call-counter';
import { GEMMA2_2B_CONFIG, TINY_CONFIG, randomWeights } from '../../src/lib/reference/random-model';
import { isSlidingLayer, type Gemma2Config } from '../../src/lib/model/config';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS, TRAINING_DEFAULTS } from '../../src/lib/lora/config';
import { createTrainingStack, type TrainingStack } from '../../src/lib/training/stack';
import { adamwStepOptions } from '../../src/lib/training/trainer';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import {
	PROJECTIONS,
	f32ToF16,
	projectionShape,
	type Gemma2Weights,
	type Linear,
	type ProjectionName
} from '../../src/lib/model/weights';
import { RACE_SHAPES_2B, runRace, type RaceResult, type RaceShape } from './race';

export interface BenchOptions {
	/** Tokens of the prefill measurement. */
	prefillTokens: number;
	/** Decode steps measured for the 2B-shaped model (SwiftShader: a few). */
	decodeTokens2b: number;
	skip2b: boolean;
	/** LoRA training sequence lengths (tokens, batch 1). */
	trainSeqs: number[];
	/** Timed training steps per sequence length (after one warm-up step). */
	trainSteps: number;
	/** Run the training figures of the 2B-shaped model (the driver: not on software unless forced). */
	train2b: boolean;
	/** Also time every kernel of one training step of the 2B-shaped rows (see profileStep). */
	profile?: boolean;
	/** Only the counted WebGPU calls of the 2B shapes (countStructure): no timings. */
	countsOnly?: boolean;
	/** The MatMulNBits race (race.ts) at these token counts (absent: no race). */
	race?: { ms: number[]; rounds: number; shapes?: RaceShape[] };
	/** Only the race: no counts, no other timings. */
	raceOnly?: boolean;
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

/** One LoRA training measurement: zeroGrads + lossAndGrads over T tokens + one AdamW step. */
export interface TrainBench {
	name: string;
	seq: number;
	rank: number;
	steps: number;
	tokensPerSecond: number;
	secondsPerStep: number;
	/** FLOPs executed per trained token (see trainingFlopsPerToken). */
	flopsPerToken: number;
	/** tokensPerSecond × flopsPerToken. */
	gflops: number;
	trainableParams: number;
	/** High-water mark of the training engine's own GpuMemory (weights, engine, backward, LoRA, AdamW). */
	peakGpuBytes: number;
	byPurpose: Record<string, number>;
	/** The last step's mean loss (a sanity figure). */
	loss: number;
	/** Set when the run failed (e.g. out of memory); the figures are then 0. */
	error?: string;
	/** With BenchOptions.profile: one step's kernels, slowest first. */
	profile?: KernelTime[];
}

/** The dispatches of one pipeline and grid in a profiled step, and their summed time. */
export interface KernelTime {
	kernel: string;
	grid: string;
	dispatches: number;
	ms: number;
}

/**
 * Times every kernel of one run of `step` (a training step): its compute dispatches are recorded
 * as it runs (pipeline, bind group, grid, through the pass encoder's prototype), then each is
 * replayed on its own — REPLAYS times in one submit, waited for — and the times are summed per
 * pipeline and grid. The replays overwrite the step's buffers (gradients, moments): profile after
 * the timed steps. Per-dispatch waits make the sum larger than a step; the shares are what count.
 */
export async function profileStep(
	device: GPUDevice,
	step: () => Promise<unknown>
): Promise<KernelTime[]> {
	const REPLAYS = 3;
	const proto = GPUComputePassEncoder.prototype;
	const { setPipeline, setBindGroup, dispatchWorkgroups } = proto;
	const recorded: {
		pipeline: GPUComputePipeline;
		group: GPUBindGroup;
		grid: [number, number, number];
	}[] = [];
	let pipeline: GPUComputePipeline | null = null;
	let group: GPUBindGroup | null = null;
	proto.setPipeline = function (this: GPUComputePassEncoder, p: GPUComputePipeline) {
		pipeline = p;
		return setPipeline.call(this, p);
	};
	proto.setBindGroup = function (this: GPUComputePassEncoder, ...args: unknown[]) {
		group = args[1] as GPUBindGroup;
		return (setBindGroup as (...a: unknown[]) => void).apply(this, args);
	} as GPUComputePassEncoder['setBindGroup'];
	proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, x: number, y = 1, z = 1) {
		if (pipeline && group) recorded.push({ pipeline, group, grid: [x, y, z] });
		return dispatchWorkgroups.call(this, x, y, z);
	};
	try {
		await step();
	} finally {
		Object.assign(proto, { setPipeline, setBindGroup, dispatchWorkgroups });
	}
	const times = new Map<string, KernelTime>();
	for (const r of recorded) {
		const enc = device.createCommandEncoder();
		const pass = enc.beginComputePass();
		pass.setPipeline(r.pipeline);
		pass.setBindGroup(0, r.group);
		for (let i = 0; i < REPLAYS; i++) pass.dispatchWorkgroups(...r.grid);
		pass.end();
		const t0 = performance.now();
		device.queue.submit([enc.finish()]);
		await device.queue.onSubmittedWorkDone();
		const ms = (performance.now() - t0) / REPLAYS;
		const grid = r.grid.join('×');
		const key = `${r.pipeline.label} ${grid}`;
		const t = times.get(key) ?? { kernel: r.pipeline.label, grid, dispatches: 0, ms: 0 };
		t.dispatches++;
		t.ms += ms;
		times.set(key, t);
	}
	return [...times.values()].sort((a, b) => b.ms - a.ms);
}

export interface BenchResult {
	adapter: { vendor: string; architecture: string; description: string; software: boolean };
	features: { shaderF16: boolean; subgroups: boolean };
	/** The kernel paths the device took (webgpu/device.ts kernelPaths). */
	paths: KernelPaths;
	copyGBps: number;
	/** Peak f32 FMA rate (2 FLOPs per fma), GFLOP/s. */
	fmaGflops: number;
	models: ModelBench[];
	training: TrainBench[];
	/** The 2B shapes' counted WebGPU calls (absent with skip2b). */
	counts?: StructureCounts;
	/** The MatMulNBits race (with BenchOptions.race). */
	race?: RaceResult;
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

/** FMA_CHAINS independent f32 fma chains per invocation, `iters` rounds; one store at the end. */
const FMA_CHAINS = 8;
const FMA_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> dst: array<f32>;
struct P { iters: u32, m: f32, c: f32, pad: u32 }
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
	let i = g.x + g.y * nw.x * 256u;
	let s = f32(i & 255u) * 1e-3;
	var a0 = s; var a1 = s + 0.1; var a2 = s + 0.2; var a3 = s + 0.3;
	var a4 = s + 0.4; var a5 = s + 0.5; var a6 = s + 0.6; var a7 = s + 0.7;
	for (var k = 0u; k < p.iters; k++) {
		a0 = fma(a0, p.m, p.c); a1 = fma(a1, p.m, p.c); a2 = fma(a2, p.m, p.c); a3 = fma(a3, p.m, p.c);
		a4 = fma(a4, p.m, p.c); a5 = fma(a5, p.m, p.c); a6 = fma(a6, p.m, p.c); a7 = fma(a7, p.m, p.c);
	}
	dst[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}`;

/**
 * Peak f32 FMA rate, GFLOP/s (one fma = 2 FLOPs): 8 independent fma chains per invocation, enough
 * workgroups to fill the device many times over (software: fewer, it has a few cores); dispatches
 * per submit are doubled until a submit takes ≥ 0.2 s; best of 3 such submits.
 */
async function fmaRate(device: GPUDevice, software: boolean): Promise<number> {
	const groups = software ? 64 : 8192;
	const iters = software ? 256 : 1024;
	const x = Math.min(groups, 65535);
	const y = ceilDiv(groups, x);
	const out = device.createBuffer({ size: x * y * 256 * 4, usage: GPUBufferUsage.STORAGE });
	const kernel = new ComputeKernel(device, {
		label: 'bench.fma',
		code: FMA_WGSL,
		entryPoint: 'main'
	});
	const uniforms = packUniforms([
		['u', iters],
		['f', 0.999],
		['f', 0.001],
		['u', 0]
	]);
	const run = async (reps: number) => {
		const enc = device.createCommandEncoder();
		for (let r = 0; r < reps; r++) kernel.dispatch(enc, [out], [x, y], uniforms);
		const t0 = performance.now();
		device.queue.submit([enc.finish()]);
		await device.queue.onSubmittedWorkDone();
		return (performance.now() - t0) / 1000;
	};
	await run(1); // warm-up (pipeline compile)
	let reps = 1;
	let t = await run(reps);
	while (t < 0.2 && reps < 4096) t = await run((reps *= 2));
	let best = t;
	for (let i = 0; i < 2; i++) best = Math.min(best, await run(reps));
	out.destroy();
	const flops = 2 * FMA_CHAINS * iters * x * y * 256 * reps;
	return flops / best / 1e9;
}

/**
 * FLOPs executed for one trained token, LoRA (rank r on every projection) on a frozen base,
 * per-layer activation checkpointing, batch 1, sequence T, every position supervised — what the
 * kernels do, recomputation included (so "of peak FMA" is the GPU's arithmetic utilisation):
 *   layers   6·P_layers  (forward 2·P, recompute during the backward 2·P, dx = dy·W through the
 *                         frozen weights 2·P; no dW), P_layers = the seven projections × layers
 *   LM head  6·V·d       (fused cross-entropy: logits 2·V·d; the backward recomputes them, 2·V·d,
 *                         then dh 2·V·d)
 *   LoRA     10·r·in + 8·r·out per projection (forward and recompute A x̃, B u: 2·(2·r·in +
 *                         2·r·out); backward u again, dy B, dB, dA, dx: 6·r·in + 4·r·out)
 *   attention 4 × forward (forward, recompute, backward ≈ 2× forward), forward = 4·H·hd·ctx per
 *                         layer, ctx = mean attended positions (causal, sliding window on even layers)
 */
export function trainingFlopsPerToken(c: Gemma2Config, T: number, r: number): number {
	return Object.values(trainingFlopsByKernel(c, T, r)).reduce((a, b) => a + b, 0);
}

/**
 * trainingFlopsPerToken by the kernel that computes it (pipeline labels as the call counter
 * names them): the base projections and the LM head in the GEMMs (`matmul.gemm_q4`: forward and
 * recompute, `matmul.gemm_dx_q4`: dx), the LoRA branch (forward and recompute 2·r·(in + out) each;
 * backward rows: u, g, dx = 2·r·(2·in + out); weight gradients 2·r·(in + out)), attention.
 */
export function trainingFlopsByKernel(
	c: Gemma2Config,
	T: number,
	r: number
): Record<string, number> {
	let layerParams = 0;
	let loraIn = 0;
	let loraOut = 0;
	for (const p of PROJECTIONS) {
		const [rows, cols] = projectionShape(c, p); // rows = out, cols = in
		layerParams += rows * cols;
		loraIn += r * cols;
		loraOut += r * rows;
	}
	let attn = 0;
	for (let L = 0; L < c.numLayers; L++) {
		const window = isSlidingLayer(L) ? c.slidingWindow : Infinity;
		let ctx = 0;
		for (let t = 0; t < T; t++) ctx += Math.min(t + 1, window);
		attn += 4 * c.numHeads * c.headDim * (ctx / T);
	}
	const layers = c.numLayers;
	const head = c.vocabSize * c.hiddenSize;
	return {
		'matmul.gemm_q4': layers * 4 * layerParams + 4 * head,
		'matmul.gemm_dx_q4': layers * 2 * layerParams + 2 * head,
		'lora.lora_forward': layers * 4 * (loraIn + loraOut),
		'lora.lora_backward_rows': layers * 2 * (2 * loraIn + loraOut),
		'lora.lora_weight_grads': layers * 2 * (loraIn + loraOut),
		attention: 4 * attn
	};
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
		const greedy = { temperature: 0 };
		const decode = (ids: number[], n: number) =>
			engine.generate(ids, greedy, { maxNewTokens: n, stopIds: [] });
		const warm = decode(prompt.slice(0, Math.min(2, prefillTokens)), 3);
		while (!(await warm.next()).done);
		engine.reset();

		// generate() as chat runs it: the first token after the prompt, then the pipelined rest.
		const tp = performance.now();
		const tokens = decode(prompt, decodeTokens + 1);
		await tokens.next();
		const prefillSeconds = (performance.now() - tp) / 1000;
		const td = performance.now();
		for (let i = 0; i < decodeTokens; i++) await tokens.next();
		const decodeSeconds = (performance.now() - td) / 1000;
		await tokens.return();
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

/**
 * One training step as the bench runs it, waited for: zero the LoRA gradients, loss and gradients
 * over `ids` (every position supervised), one AdamW step at a fixed learning rate. Returns the
 * mean loss.
 */
async function trainingStep(
	device: GPUDevice,
	stack: TrainingStack,
	ids: number[]
): Promise<number> {
	const { lora, backward } = stack;
	const optimizer = stack.trainer.optimizer;
	const T = ids.length;
	let enc = device.createCommandEncoder({ label: 'bench.zero_grads' });
	lora.zeroGrads(enc);
	device.queue.submit([enc.finish()]);
	const r = await backward.lossAndGrads(ids, ids, { gradScale: 1 / Math.max(1, T - 1) });
	enc = device.createCommandEncoder({ label: 'bench.adamw' });
	optimizer.encodeStep(enc, adamwStepOptions(TRAINING_DEFAULTS, 1e-4));
	device.queue.submit([enc.finish()]);
	await device.queue.onSubmittedWorkDone();
	return r.lossSum / Math.max(1, r.count);
}

/** A training sequence of T tokens (BOS, then a spread of ids). */
function benchIds(V: number, T: number): number[] {
	return Array.from({ length: T }, (_, i) => (i === 0 ? 2 : 200 + ((i * 7919) % (V - 200))));
}

/** The studio's training stack for the bench's LoRA on `engine` (KV cache released). */
function benchStack(engine: Gemma2Engine, T: number, ids: number[]): Promise<TrainingStack> {
	return createTrainingStack(engine, benchLora(engine.config), {
		maxTokens: T,
		args: TRAINING_DEFAULTS,
		train: [{ input_ids: ids, labels: ids }]
	});
}

/** The benchmark's LoRA: r = 16 (alpha 32) on all seven projections of every layer. */
const TRAIN_RANK = 16;

/** A fresh adapter of the benchmark's LoRA for a model of config `c`. */
function benchLora(c: Gemma2Config): LoraAdapter {
	const lc = { ...LORA_DEFAULTS, r: TRAIN_RANK, lora_alpha: 2 * TRAIN_RANK };
	return createLoraAdapter(c, { ...lc, target_modules: ALL_PROJECTIONS }, 1);
}

/**
 * LoRA training speed at sequence length T, batch 1, on an engine of its own (its own GpuMemory,
 * so the peak is this run's alone: weights, engine KV cache (f16) and activations, backward,
 * LoRA params/grads, AdamW moments). A step = zeroGrads + lossAndGrads over T tokens (every
 * position supervised: labels = ids) + one AdamW step, waited for; one warm-up step compiles the
 * pipelines, then `steps` timed steps.
 */
async function benchTraining(
	device: GPUDevice,
	name: string,
	w: Gemma2Weights,
	T: number,
	steps: number,
	/** Run the warm-up step (software skips it after the first length: pipelines are cached). */
	warmup = true,
	/** Time every kernel of one more step (profileStep). */
	profile = false
): Promise<TrainBench> {
	const c = w.config;
	const base = {
		name,
		seq: T,
		rank: TRAIN_RANK,
		steps,
		flopsPerToken: trainingFlopsPerToken(c, T, TRAIN_RANK)
	};
	let engine: Gemma2Engine | null = null;
	let stack: TrainingStack | null = null;
	try {
		engine = await Gemma2Engine.create(device, w, { maxTokens: T, kvCacheDtype: 'f16' });
		// as the studio's training job does: the KV cache is freed while training (the stack frees
		// it too; here first, so the peak counts only what a step needs)
		engine.releaseKvCache();
		engine.memory.resetPeak();
		const ids = benchIds(c.vocabSize, T);
		// the studio's stack (adapter, backward, trainer with its AdamW moments); the step drives
		// its parts directly, at a fixed learning rate
		stack = await benchStack(engine, T, ids);
		const step = () => trainingStep(device, stack!, ids);
		stack.lora.training = true;
		// steps = 0 (2B shapes on a software adapter): allocation only — every buffer of a step
		// exists and is counted, nothing runs
		let loss = 0;
		let seconds = 0;
		if (steps > 0) {
			const tw = performance.now();
			if (warmup) {
				await step(); // warm-up: pipeline compilation
				console.log(
					`bench: ${name} ${T} tokens: warm-up step ${((performance.now() - tw) / 1000).toFixed(2)} s`
				);
			}
			const t0 = performance.now();
			for (let i = 0; i < steps; i++) loss = await step();
			seconds = (performance.now() - t0) / 1000;
		}
		const tokensPerSecond = steps > 0 ? (T * steps) / seconds : 0;
		const kernels = profile && steps > 0 ? await profileStep(device, step) : undefined;
		return {
			...base,
			tokensPerSecond,
			secondsPerStep: steps > 0 ? seconds / steps : 0,
			gflops: (tokensPerSecond * base.flopsPerToken) / 1e9,
			trainableParams: stack.lora.parameterCount,
			peakGpuBytes: engine.memory.peak,
			byPurpose: { ...engine.memory.byPurpose() },
			loss,
			...(kernels ? { profile: kernels } : {})
		};
	} catch (e) {
		return {
			...base,
			tokensPerSecond: 0,
			secondsPerStep: 0,
			gflops: 0,
			trainableParams: 0,
			peakGpuBytes: engine?.memory.peak ?? 0,
			byPurpose: {},
			loss: 0,
			error: e instanceof Error ? e.message : String(e)
		};
	} finally {
		stack?.destroy();
		engine?.destroy();
		await device.queue.onSubmittedWorkDone();
	}
}

/** Counted WebGPU calls of one steady-state decode token or training step (see countStructure). */
/** The sampled decode token the counts show beside the greedy one. */
const SAMPLED: SamplingParams = {
	temperature: 0.8,
	topK: 40,
	topP: 0.95,
	repetitionPenalty: 1.1
};

export interface StructureCounts {
	/** Decode: one steady-state token of generate() (greedy) at a few tokens of context. */
	decode: GpuCallCounts;
	/** Tokens submitted and not yet read when generate() first waits for an id. */
	decodeInFlight: number;
	/** One steady-state token sampled with decodeSampledParams (top-k, top-p, penalty). */
	decodeSampled: GpuCallCounts;
	decodeSampledParams: SamplingParams;
	/** One steady-state greedy token with the bench's LoRA adapter (benchLora) active. */
	decodeAdapted: GpuCallCounts;
	/** The engine's KV cache capacity (tokens) while counting: its bound bytes are at this context. */
	decodeContext: number;
	/** Bytes bound per decode token by stream (see streamBytes). */
	decodeStreams: Record<string, number>;
	/** Weight bytes a token must read at least (every projection once, the tied LM head once). */
	decodeWeightBytesMin: number;
	/** Training: the second step (the first creates the bind groups) at `trainSeq` tokens. */
	train: GpuCallCounts;
	/** Bind groups created by the first training step. */
	trainFirstStepBindGroups: number;
	trainSeq: number;
	/** FLOPs per trained token by kernel (trainingFlopsByKernel), at `trainSeq` and rank 16. */
	trainFlops: Record<string, number>;
	/** Where the training step's GPU memory goes (GpuMemory.describe), after the step. */
	trainMemory: string;
}

/**
 * Bytes bound per dispatch, by stream: the purpose of the buffer in the engine's GpuMemory
 * (weights, kv-cache, activations, lora, …), 'uniforms' for ComputeKernel's parameter buffers.
 * The embedding lookup binds the whole table but reads one row per token: its table is counted
 * as one row of weights. Bound bytes are an upper bound of DRAM traffic (a kernel may touch only
 * part of a binding, e.g. the filled part of the KV cache, or T = 1 row of an activation sized for
 * a prefill chunk).
 */
function streamBytes(
	counts: GpuCallCounts,
	memory: GpuMemory,
	embedRowBytes: number
): Record<string, number> {
	const purpose = new Map(memory.report().map((e) => [e.label, e.purpose as string]));
	const out: Record<string, number> = {};
	for (const [pipeline, byLabel] of Object.entries(counts.boundBytes))
		for (const [label, bytes] of Object.entries(byLabel)) {
			const p = label === 'uniforms' ? 'uniforms' : (purpose.get(label) ?? 'other');
			const b = pipeline.startsWith('embedding') && p === 'weights' ? 0 : bytes;
			out[p] = (out[p] ?? 0) + b;
		}
	out.weights = (out.weights ?? 0) + embedRowBytes;
	return out;
}

/**
 * Machine-independent figures (issue 13): the WebGPU calls of one steady-state decode token and
 * of one training step of `w` (the 2B shapes), counted by wrapping the WebGPU methods around the
 * real engine. Dispatches are counted but not run (GpuCallCounter.dryDispatches), so a software
 * adapter counts the 2B shapes in seconds; the counts do not depend on the values computed.
 */
export async function countStructure(
	device: GPUDevice,
	w: Gemma2Weights,
	opts: { context: number; trainSeq: number }
): Promise<StructureCounts> {
	const counter = new GpuCallCounter().install();
	counter.dryDispatches = true;
	const c = w.config;
	let engine: Gemma2Engine | null = null;
	let stack: TrainingStack | null = null;
	try {
		const decoding = (engine = await Gemma2Engine.create(device, w, { maxTokens: opts.context }));
		// The fourth token of a generation: its pipelines, slots and bind groups exist by then.
		const token = async (params: SamplingParams) => {
			const tokens = decoding.generate([2, 200], params, { maxNewTokens: 8, stopIds: [] });
			counter.reset();
			await tokens.next();
			const inFlight = counter.counts.submits; // the prompt's (with token 0) and those behind it
			await tokens.next();
			await tokens.next();
			counter.reset();
			await tokens.next();
			const counts = counter.counts;
			counter.reset(); // what follows is not the token's
			await tokens.return();
			decoding.reset();
			return { counts, inFlight };
		};
		const { counts: decode, inFlight: decodeInFlight } = await token({ temperature: 0 });
		const { counts: decodeSampled } = await token(SAMPLED);
		const adapter = new GpuLoraAdapter(device, engine.memory, benchLora(c));
		decoding.lora = adapter;
		const { counts: decodeAdapted } = await token({ temperature: 0 });
		decoding.lora = null;
		adapter.destroy();
		const embedRowBytes = linearBytes(w.embed) / c.vocabSize;
		const decodeStreams = streamBytes(decode, engine.memory, embedRowBytes);
		engine.destroy();

		engine = await Gemma2Engine.create(device, w, {
			maxTokens: opts.trainSeq,
			kvCacheDtype: 'f16'
		});
		const ids = benchIds(c.vocabSize, opts.trainSeq);
		stack = await benchStack(engine, opts.trainSeq, ids);
		stack.lora.training = true;
		counter.reset();
		await trainingStep(device, stack, ids);
		const trainFirstStepBindGroups = counter.counts.bindGroupsCreated;
		counter.reset();
		await trainingStep(device, stack, ids);
		return {
			decode,
			decodeInFlight,
			decodeSampled,
			decodeSampledParams: SAMPLED,
			decodeAdapted,
			decodeContext: opts.context,
			decodeStreams,
			decodeWeightBytesMin: weightBytes(w).perToken,
			train: counter.counts,
			trainFirstStepBindGroups,
			trainSeq: opts.trainSeq,
			trainFlops: trainingFlopsByKernel(c, opts.trainSeq, TRAIN_RANK),
			trainMemory: engine.memory.describe()
		};
	} finally {
		counter.uninstall();
		stack?.destroy();
		engine?.destroy();
		await device.queue.onSubmittedWorkDone();
	}
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
	const { device, report, features, paths } = await requestEngineDevice();
	const log = (m: string) => console.log(`bench: ${m}`);
	const race = async () =>
		opts.race
			? runRace(
					device,
					{ roundMs: 50, ...opts.race, shapes: opts.race.shapes ?? RACE_SHAPES_2B },
					log
				)
			: undefined;
	let counts: StructureCounts | undefined;
	if (!opts.skip2b && !opts.raceOnly) {
		log('counting the WebGPU calls of a 2B-shaped decode token and training step…');
		counts = await countStructure(device, randomQ4Weights(GEMMA2_2B_CONFIG, 1), {
			context: 1024,
			trainSeq: 512
		});
	}
	const adapter = {
		vendor: report.vendor,
		architecture: report.architecture,
		description: report.description,
		software: report.software
	};
	if (opts.countsOnly || opts.raceOnly) {
		const raced = opts.raceOnly ? await race() : undefined;
		device.destroy();
		return {
			adapter,
			features,
			paths,
			copyGBps: 0,
			fmaGflops: 0,
			models: [],
			training: [],
			counts,
			race: raced
		};
	}
	const copyGBps = await copyBandwidth(device);
	log(`copy ${copyGBps.toFixed(1)} GB/s`);
	const fmaGflops = await fmaRate(device, report.software);
	log(`fma ${fmaGflops.toFixed(1)} GFLOP/s`);
	const models: ModelBench[] = [];
	const training: TrainBench[] = [];
	const tiny = randomWeights(TINY_CONFIG, 1, 'q4f16');
	models.push(await benchModel(device, 'tiny (q4f16_1)', tiny, opts.prefillTokens, 32));
	// inference engines are destroyed (their buffers freed) before training starts
	for (const T of opts.trainSeqs) {
		log(`training tiny at ${T} tokens…`);
		const warmup = !report.software || training.length === 0;
		training.push(await benchTraining(device, 'tiny (q4f16_1)', tiny, T, opts.trainSteps, warmup));
	}
	// One decoder layer with the real 2B shapes and an 8k vocabulary: a step small enough for a
	// software adapter (~2 min) whose work is the 2B model's GEMMs, so "of peak FMA" there says
	// what the whole model would reach on that device.
	if (!opts.skip2b) {
		const layer = { ...GEMMA2_2B_CONFIG, numLayers: 1, vocabSize: 8192 };
		log('training one 2B-shaped layer at 256 tokens…');
		training.push(
			await benchTraining(
				device,
				'one 2B layer, 8k vocabulary, random q4f16_1',
				randomQ4Weights(layer, 1),
				256,
				report.software ? 1 : opts.trainSteps,
				true, // its 128×128-tile GEMM pipelines are new here: compile them outside the timing
				opts.profile
			)
		);
	}
	let w2b: Gemma2Weights | null = null;
	if (!opts.skip2b) {
		const w = (w2b = randomQ4Weights(GEMMA2_2B_CONFIG, 1));
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
	// Without train2b (a software adapter) the 2B shapes are still allocated for training, to
	// measure the memory of a step (0 steps: nothing is run).
	if (opts.train2b || w2b) {
		const w = w2b ?? randomQ4Weights(GEMMA2_2B_CONFIG, 1);
		for (const T of opts.trainSeqs) {
			log(`training 2B shapes at ${T} tokens${opts.train2b ? '' : ' (allocation only)'}…`);
			training.push(
				await benchTraining(
					device,
					'Gemma-2 2B shapes, random q4f16_1',
					w,
					T,
					opts.train2b ? opts.trainSteps : 0,
					true,
					opts.profile && opts.train2b
				)
			);
		}
	}
	const raced = await race();
	device.destroy();
	return { adapter, features, paths, copyGBps, fmaGflops, models, training, counts, race: raced };
}

// The browser page reaches it through globalThis; Node imports `runBench`. No DOM is used here.
(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench;
(globalThis as unknown as { benchReady: boolean }).benchReady = true;
