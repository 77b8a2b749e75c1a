/**
 * Gemma2Weights (host, see model/weights.ts) → GPU buffers, through GpuMemory ('weights').
 *
 * Every linear weight becomes a GpuLinear: f32 data, or q4 qweight + scales (f16 scales stay as
 * f16 bit pairs in u32 words and are read with unpack2x16float — no shader-f16 needed).
 *
 * Splitting: a weight is cut into row chunks so that no buffer exceeds
 * min(maxStorageBufferBindingSize, maxBufferSize) and no dispatch over a chunk exceeds
 * maxComputeWorkgroupsPerDimension. Only the 256000×2304 tied embedding / LM head is large enough
 * to split in practice (q4: ~295 MB qweight); every projection of the 2B model is one chunk.
 * Chunks are whole vocabulary rows, so the embedding gather picks the chunk holding the id and
 * the LM head writes each chunk's logits into its own column range.
 */
import type { Gemma2Config } from '../../model/config';
import type { Gemma2Weights, Linear, ProjectionName } from '../../model/weights';
import { PROJECTIONS } from '../../model/weights';
import { GEMV_ROWS } from '../kernels/gemv';
import type { GpuLinear, GpuLinearChunk } from '../kernels/matmul';
import type { GpuMemory } from '../memory';

export interface SplitOptions {
	/** Largest buffer for one chunk, bytes; default min(maxStorageBufferBindingSize, maxBufferSize). */
	maxChunkBytes?: number;
	/** Largest chunk in rows (tests use this to force a split on the tiny model). */
	maxChunkRows?: number;
}

export interface GpuLayerWeights {
	inputNorm: GPUBuffer;
	postAttnNorm: GPUBuffer;
	preFfnNorm: GPUBuffer;
	postFfnNorm: GPUBuffer;
	proj: Record<ProjectionName, GpuLinear>;
}

export interface Gemma2GpuWeights {
	config: Gemma2Config;
	embed: GpuLinear;
	layers: GpuLayerWeights[];
	finalNorm: GPUBuffer;
}

const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/** Bytes per row on the GPU for the largest buffer of a chunk (qweight or f32 data). */
function rowBytes(w: Linear): number {
	return w.kind === 'f32' ? w.cols * 4 : (w.cols / 8) * 4;
}

/** Row counts of the chunks a weight is split into: as few, as equal as possible. */
export function planChunks(
	rows: number,
	bytesPerRow: number,
	device: GPUDevice,
	opts: SplitOptions = {}
): number[] {
	const lim = device.limits;
	const maxBytes =
		opts.maxChunkBytes ?? Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize);
	let maxRows = Math.floor(maxBytes / bytesPerRow);
	maxRows = Math.min(
		maxRows,
		lim.maxComputeWorkgroupsPerDimension * GEMV_ROWS,
		opts.maxChunkRows ?? Infinity
	);
	if (maxRows < 1)
		throw new Error(`one row of ${bytesPerRow} bytes exceeds the buffer limit ${maxBytes}`);
	const n = Math.ceil(rows / maxRows);
	const base = Math.ceil(rows / n);
	const out: number[] = [];
	for (let r = 0; r < rows; r += base) out.push(Math.min(base, rows - r));
	return out;
}

/** Uploads a host Linear as a GpuLinear, split into row chunks when needed. */
export function uploadLinear(
	memory: GpuMemory,
	label: string,
	w: Linear,
	opts: SplitOptions = {}
): GpuLinear {
	const sizes = planChunks(w.rows, rowBytes(w), memory.device, opts);
	const chunks: GpuLinearChunk[] = [];
	let rowStart = 0;
	for (const [i, rows] of sizes.entries()) {
		const name = sizes.length > 1 ? `${label}[${i}]` : label;
		if (w.kind === 'f32') {
			const data = w.data.subarray(rowStart * w.cols, (rowStart + rows) * w.cols);
			chunks.push({ rowStart, rows, weight: memory.allocWith(name, data, STORAGE, 'weights') });
		} else {
			const wpr = w.cols / 8;
			const gpr = w.cols / 32;
			const q = w.qweight.subarray(rowStart * wpr, (rowStart + rows) * wpr);
			let scales: ArrayBufferView;
			if (w.scales.dtype === 'f32')
				scales = w.scales.data.subarray(rowStart * gpr, (rowStart + rows) * gpr);
			else {
				// f16 pairs in u32 words; pad to an even count so the buffer is whole words.
				const src = w.scales.bits.subarray(rowStart * gpr, (rowStart + rows) * gpr);
				const padded = new Uint16Array(src.length + (src.length & 1));
				padded.set(src);
				scales = padded;
			}
			chunks.push({
				rowStart,
				rows,
				weight: memory.allocWith(`${name}.qweight`, q, STORAGE, 'weights'),
				scales: memory.allocWith(`${name}.scales`, scales, STORAGE, 'weights')
			});
		}
		rowStart += rows;
	}
	return {
		kind: w.kind,
		rows: w.rows,
		cols: w.cols,
		scaleDtype: w.kind === 'q4' ? w.scales.dtype : undefined,
		chunks
	};
}

export function freeLinear(memory: GpuMemory, w: GpuLinear): void {
	for (const c of w.chunks) {
		memory.free(c.weight);
		memory.free(c.scales);
	}
}

/** Uploads all weights of a Gemma-2 model. `embedSplit` controls the embedding's row chunks. */
export function uploadGemma2Weights(
	memory: GpuMemory,
	weights: Gemma2Weights,
	opts: { embedSplit?: SplitOptions } = {}
): Gemma2GpuWeights {
	const vec = (label: string, v: Float32Array) => memory.allocWith(label, v, STORAGE, 'weights');
	return {
		config: weights.config,
		embed: uploadLinear(memory, 'embed', weights.embed, opts.embedSplit),
		layers: weights.layers.map((lw, L) => {
			const proj = {} as Record<ProjectionName, GpuLinear>;
			for (const p of PROJECTIONS) proj[p] = uploadLinear(memory, `layers.${L}.${p}`, lw.proj[p]);
			return {
				inputNorm: vec(`layers.${L}.input_norm`, lw.inputNorm),
				postAttnNorm: vec(`layers.${L}.post_attention_norm`, lw.postAttnNorm),
				preFfnNorm: vec(`layers.${L}.pre_feedforward_norm`, lw.preFfnNorm),
				postFfnNorm: vec(`layers.${L}.post_feedforward_norm`, lw.postFfnNorm),
				proj
			};
		}),
		finalNorm: vec('final_norm', weights.finalNorm)
	};
}

export function freeGemma2Weights(memory: GpuMemory, w: Gemma2GpuWeights): void {
	freeLinear(memory, w.embed);
	for (const l of w.layers) {
		for (const b of [l.inputNorm, l.postAttnNorm, l.preFfnNorm, l.postFfnNorm]) memory.free(b);
		for (const p of PROJECTIONS) freeLinear(memory, l.proj[p]);
	}
	memory.free(w.finalNorm);
}
