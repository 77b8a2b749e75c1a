/**
 * The bench's machine-independent section (issue 13 item 5): the counted WebGPU calls of one
 * 2B-shaped decode token and training step (bench.ts countStructure), the bytes a token binds by
 * stream against the weights' minimum, and a projection of decode speed on reference GPUs.
 * Pure formatting: no GPU, no browser.
 */
import type { StructureCounts } from './bench';

/** Reference GPUs of the projection: name and DRAM bandwidth (GB/s, vendor figures). */
export const REFERENCE_GPUS: [name: string, gbps: number][] = [
	['NVIDIA RTX 4090 (discrete)', 1008],
	['NVIDIA RTX 3060 (discrete)', 360],
	['Apple M2 (laptop, unified memory)', 100]
];

/** Per-dispatch overheads of the projection, µs (the range seen for WebGPU on native drivers). */
export const DISPATCH_OVERHEAD_US = [5, 15];

const GB = 1e9;
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const gb = (b: number) => `${(b / GB).toFixed(3)} GB`;

/**
 * Projected decode time per token: bytes / bandwidth + dispatches × overhead. A projection (a
 * simple model, not a measurement): tokens/s and the share of the time spent moving bytes.
 */
export function projectDecode(
	bytes: number,
	dispatches: number,
	gbps: number,
	overheadUs: number
): { tokensPerSecond: number; bandwidthShare: number } {
	const memory = bytes / (gbps * GB);
	const total = memory + (dispatches * overheadUs) / 1e6;
	return { tokensPerSecond: 1 / total, bandwidthShare: memory / total };
}

/** The top `n` pipelines by dispatches, as "label N (share%)". */
function topPipelines(byPipeline: Record<string, number>, total: number, n: number): string {
	return Object.entries(byPipeline)
		.sort((a, b) => b[1] - a[1])
		.slice(0, n)
		.map(([k, v]) => `\`${k}\` ${v} (${((100 * v) / total).toFixed(0)}%)`)
		.join(', ');
}

/**
 * "label share% of FLOPs (share% of dispatches)" for each kernel of trainingFlopsByKernel, most
 * FLOPs first; `attention` sums the attention pipelines' dispatches.
 */
function flopShares(
	flops: Record<string, number>,
	dispatches: Record<string, number>,
	total: number
): string {
	const all = Object.values(dispatches).reduce((a, b) => a + b, 0);
	return Object.entries(flops)
		.sort((a, b) => b[1] - a[1])
		.map(([k, v]) => {
			const n = Object.entries(dispatches)
				.filter(([p]) => p === k || p.startsWith(`${k}.`))
				.reduce((a, [, d]) => a + d, 0);
			return `\`${k}\` ${((100 * v) / total).toFixed(1)}% (${((100 * n) / all).toFixed(0)}% of dispatches)`;
		})
		.join(', ');
}

/** Dispatches of the sampling kernel's entry points. */
function samplingDispatches(c: StructureCounts['decode']): number {
	return Object.entries(c.dispatchesByPipeline)
		.filter(([k]) => k.startsWith('sampling.'))
		.reduce((a, [, v]) => a + v, 0);
}

function samplingLabel(s: StructureCounts): string {
	const p = s.decodeSampledParams;
	return `temperature ${p.temperature}, top-k ${p.topK}, top-p ${p.topP}, repetition penalty ${p.repetitionPenalty}`;
}

/** Dispatches of the LoRA kernels (kernels/lora.*). */
function loraDispatches(c: StructureCounts['decode']): number {
	return Object.entries(c.dispatchesByPipeline)
		.filter(([k]) => k.startsWith('lora.'))
		.reduce((a, [, v]) => a + v, 0);
}

/** Markdown lines of the counted figures (for docs/BENCHMARKS.md, between the COUNTS markers). */
export function countsLines(s: StructureCounts, layers: number): string[] {
	const d = s.decode;
	const t = s.train;
	const streams = s.decodeStreams;
	const bound = Object.values(streams).reduce((a, b) => a + b, 0);
	const dramBytes = (streams.weights ?? 0) + (streams['kv-cache'] ?? 0);
	const flops = Object.values(s.trainFlops).reduce((a, b) => a + b, 0);
	const lines = [
		`Counted by wrapping the WebGPU calls around the real engine (src/lib/webgpu/call-counter.ts; dispatches counted, not run, so any adapter counts the 2B shapes): Gemma-2 2B shapes (${layers} layers, vocabulary 256,000), random q4f16_1 weights.`,
		'',
		`| per steady-state decode token (greedy, KV cache for ${s.decodeContext} tokens) | count |`,
		'|---|---|',
		`| dispatches | ${d.dispatches} (${(d.dispatches / layers).toFixed(1)} per layer, all included) |`,
		`| compute passes | ${d.computePasses} |`,
		`| submits (command buffers) | ${d.submits} (${d.commandBuffers}) |`,
		`| readbacks (mapAsync) | ${d.readbacks} per token, read behind: the id feeds the next embedding on the GPU |`,
		`| tokens in flight when the CPU waits for an id | ${s.decodeInFlight} (the CPU waits once per token, for the oldest id; the next tokens are already submitted) |`,
		`| bind groups created | ${d.bindGroupsCreated} |`,
		`| buffers created | ${d.buffersCreated} (${mb(d.bufferBytesCreated)}) |`,
		`| copies | ${d.copies} (${mb(d.copyBytes)}) |`,
		`| queue writes | ${d.writeBuffers} (${d.writeBufferBytes} bytes) |`,
		`| most dispatched | ${topPipelines(d.dispatchesByPipeline, d.dispatches, 6)} |`,
		'',
		`A sampled token (${samplingLabel(s)}): ${s.decodeSampled.dispatches} dispatches, ${samplingDispatches(s.decodeSampled)} of them sampling (greedy: ${samplingDispatches(d)}), each pass over the vocabulary spread over ${Math.ceil(256000 / 1024)} workgroups; ${s.decodeSampled.submits} submit, ${s.decodeSampled.readbacks} readback, ${s.decodeSampled.bindGroupsCreated} bind groups and ${s.decodeSampled.buffersCreated} buffers created.`,
		'',
		`With the bench's LoRA adapter active (r=16 on 7 projections, greedy): ${s.decodeAdapted.dispatches} dispatches (${(s.decodeAdapted.dispatches / layers).toFixed(1)} per layer), ${loraDispatches(s.decodeAdapted)} of them LoRA branches (one per adapted group: q|k|v, o, gate|up with the gelu-gate, down); ${s.decodeAdapted.computePasses} compute pass, ${s.decodeAdapted.submits} submit, ${s.decodeAdapted.bindGroupsCreated} bind groups and ${s.decodeAdapted.buffersCreated} buffers created.`,
		'',
		`Bytes bound per decode token, by stream (an upper bound of DRAM traffic: the KV cache binding is the whole ${s.decodeContext}-token cache, activations are buffers sized for a prefill chunk; the embedding lookup counts one row): ${Object.entries(
			streams
		)
			.sort((a, b) => b[1] - a[1])
			.map(([k, v]) => `${k} ${gb(v)}`)
			.join(
				', '
			)}; total ${gb(bound)}. Weights must be read at least once: **${gb(s.decodeWeightBytesMin)}** minimum; bound weight bytes are ${((100 * (streams.weights ?? 0)) / s.decodeWeightBytesMin).toFixed(1)}% of it.`,
		'',
		`| per training step (LoRA r=16 on 7 projections, seq ${s.trainSeq}, second step) | count |`,
		'|---|---|',
		`| dispatches | ${t.dispatches}, LoRA branches ${loraDispatches(t)} (${((100 * loraDispatches(t)) / t.dispatches).toFixed(0)}%) |`,
		`| compute passes | ${t.computePasses} |`,
		`| submits (command buffers) | ${t.submits} (${t.commandBuffers}) |`,
		`| readbacks (mapAsync) | ${t.readbacks} |`,
		`| bind groups created | ${t.bindGroupsCreated} (first step: ${s.trainFirstStepBindGroups}) |`,
		`| buffers created | ${t.buffersCreated} (${mb(t.bufferBytesCreated)}) |`,
		`| copies | ${t.copies} (${mb(t.copyBytes)}) |`,
		`| queue writes | ${t.writeBuffers} (${t.writeBufferBytes} bytes) |`,
		`| most dispatched | ${topPipelines(t.dispatchesByPipeline, t.dispatches, 8)} |`,
		`| FLOP share by kernel (computed from the shapes: ${(flops / 1e9).toFixed(1)} GFLOP per token) | ${flopShares(s.trainFlops, t.dispatchesByPipeline, flops)} |`,
		`| GPU memory, by group (GpuMemory.describe) | ${s.trainMemory} |`,
		'',
		`**Projection, not a measurement**: decode time per token = bytes / bandwidth + dispatches × overhead, with bytes = bound weights + KV cache (${gb(dramBytes)}) and ${d.dispatches} dispatches per token, at ${DISPATCH_OVERHEAD_US.join(' and ')} µs per dispatch.`,
		'',
		`| reference GPU | bandwidth | ${DISPATCH_OVERHEAD_US.map((o) => `tok/s, ${o} µs (share of bandwidth)`).join(' | ')} |`,
		`|---|---|${DISPATCH_OVERHEAD_US.map(() => '---|').join('')}`
	];
	for (const [name, gbps] of REFERENCE_GPUS)
		lines.push(
			`| ${name} | ${gbps} GB/s | ${DISPATCH_OVERHEAD_US.map((o) => {
				const p = projectDecode(dramBytes, d.dispatches, gbps, o);
				return `${p.tokensPerSecond.toFixed(1)} (${(100 * p.bandwidthShare).toFixed(0)}%)`;
			}).join(' | ')} |`
		);
	return lines;
}
