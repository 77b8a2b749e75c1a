/**
 * The MatMulNBits race (issue 13): our q4 GEMV/GEMM (MatmulKernel, the engine's public kernel API)
 * against onnxruntime-web's WebGPU `com.microsoft.MatMulNBits`, on the same GPUDevice in the same
 * page (or Node process), with the same weights and inputs. Runs inside scripts/engine-harness/bench.ts.
 *
 * Per shape and element type: one warm-up call of each (pipeline compilation), the outputs compared
 * (a race is only timed when both give the same answer), then `rounds` interleaved rounds —
 * ours, theirs, ours, theirs, … — each round `calls` calls submitted back to back and waited for
 * (onSubmittedWorkDone; wall time, so each side's CPU encoding per call counts too). The figure is
 * the median over the rounds of theirs / ours (> 1: ours faster).
 *
 * Weights: random MLC q4 codes (0…14) with scales of f16 values; ORT gets the same bytes as
 * MatMulNBits' B with the codes shifted by one (onnx-model.ts mlcToMatMulNBits: its default zero
 * point 8 equals MLC's 7) and the same scales. f32 rows: A, scales and Y f32 on both sides (our
 * q4f32 layout). f16 rows (only where the device has `shader-f16`, which ORT needs for f16): ORT
 * with A, scales and Y in f16; ours with our q4f16_1 layout (f16 scales) and our kernels' input.
 */
import { MatmulKernel, type GpuLinear } from '../../src/lib/webgpu/kernels/matmul';
import { GpuMemory, readF32 } from '../../src/lib/webgpu/memory';
import { freeLinear, uploadLinear } from '../../src/lib/webgpu/gemma2/weights';
import { f16ToF32, f32ToF16, type Linear } from '../../src/lib/model/weights';
import { mulberry32 } from '../../src/lib/random';
import { matMulNBitsModel, mlcToMatMulNBits, ONNX_FLOAT, ONNX_FLOAT16 } from './onnx-model';

export type RaceDtype = 'f32' | 'f16';

/** A weight of the race: [N = out, K = in]. */
export interface RaceShape {
	name: string;
	N: number;
	K: number;
}

/** The Gemma-2 2B projections (LM head excluded): q alone, q+k+v fused, gate+up fused, down. */
export const RACE_SHAPES_2B: RaceShape[] = [
	{ name: 'q_proj', N: 2048, K: 2304 },
	{ name: 'qkv_proj', N: 4096, K: 2304 },
	{ name: 'gate_up_proj', N: 18432, K: 2304 },
	{ name: 'down_proj', N: 2304, K: 9216 }
];

export interface RaceOptions {
	shapes: RaceShape[];
	/** Token counts raced: 1 (GEMV) and e.g. 512 (GEMM). */
	ms: number[];
	/** Timed interleaved rounds after the warm-up (≥ 5). */
	rounds: number;
	/** A round of one side lasts at least about this long (calls per round are chosen from it). */
	roundMs: number;
	/** Where onnxruntime-web finds its .wasm/.mjs (ort.env.wasm.wasmPaths); default its package's. */
	wasmPaths?: string;
}

export interface RaceRow {
	shape: string;
	M: number;
	N: number;
	K: number;
	dtype: RaceDtype;
	/** Set when the row did not run (then the figures are 0). */
	skipped?: string;
	/** Calls per round (the same for both sides). */
	calls: number;
	rounds: number;
	/** Median ms per call over the rounds. */
	oursMs: number;
	theirsMs: number;
	/** Median over the rounds of theirs / ours. */
	ratio: number;
	/** max |ours − theirs| over Y, and max |Y| (the scale it is measured against). */
	maxAbsDiff: number;
	maxAbsY: number;
	/** The outputs agree (maxAbsDiff ≤ tolerance × maxAbsY); otherwise nothing was timed. */
	agree: boolean;
}

export interface RaceResult {
	ortVersion: string;
	rows: RaceRow[];
	/** Set when the race could not start at all (e.g. onnxruntime-web failed to load). */
	error?: string;
}

/** Relative output tolerance: f32 accumulation in both (order differs); f16 rounding of A and Y. */
const TOLERANCE: Record<RaceDtype, number> = { f32: 1e-4, f16: 2e-2 };

type Ort = typeof import('onnxruntime-web');

/** Random MLC q4 weights (codes 0…14) with scales of exact f16 values, f16- or f32-stored. */
function raceWeights(
	N: number,
	K: number,
	seed: number
): { q: Uint32Array; scaleBits: Uint16Array } {
	const next = mulberry32(seed);
	const q = new Uint32Array((N * K) / 8);
	for (let i = 0; i < q.length; i++) {
		let word = 0;
		for (let j = 0; j < 8; j++) word |= Math.floor(next() * 15) << (4 * j);
		q[i] = word >>> 0;
	}
	const scaleBits = new Uint16Array((N * K) / 32);
	for (let i = 0; i < scaleBits.length; i++) scaleBits[i] = f32ToF16((0.5 + next()) / (7 * 16));
	return { q, scaleBits };
}

function median(v: number[]): number {
	const s = [...v].sort((a, b) => a - b);
	const h = s.length >> 1;
	return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** One shape × dtype: both sides set up on `device`, checked, then raced. */
async function raceOne(
	ort: Ort,
	device: GPUDevice,
	matmul: MatmulKernel,
	shape: RaceShape,
	M: number,
	dtype: RaceDtype,
	opts: RaceOptions
): Promise<RaceRow> {
	const { N, K } = shape;
	const row = emptyRow(shape, M, dtype);
	const { q, scaleBits } = raceWeights(N, K, N * 31 + K);
	const scalesF32 = Float32Array.from(scaleBits, f16ToF32);
	const linear: Linear =
		dtype === 'f32'
			? { kind: 'q4', rows: N, cols: K, qweight: q, scales: { dtype: 'f32', data: scalesF32 } }
			: { kind: 'q4', rows: N, cols: K, qweight: q, scales: { dtype: 'f16', bits: scaleBits } };
	const next = mulberry32(M * 7 + K);
	const a32 = Float32Array.from({ length: M * K }, () => 2 * next() - 1);
	// ORT's f16 input holds the f16 rounding of A; ours reads those same values in f32
	const a16 = Uint16Array.from(a32, f32ToF16);
	if (dtype === 'f16') a32.set(Float32Array.from(a16, f16ToF32));

	const memory = new GpuMemory(device);
	const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
	let w: GpuLinear | null = null;
	let session: import('onnxruntime-web').InferenceSession | null = null;
	try {
		w = uploadLinear(memory, `race.${shape.name}`, linear);
		const x = memory.allocWith('race.x', a32, usage, 'activations');
		const y = memory.alloc('race.y', M * N * 4, usage, 'activations');
		const elem = dtype === 'f32' ? 4 : 2;
		const xOrt = dtype === 'f32' ? x : memory.allocWith('race.x16', a16, usage, 'activations');
		const yOrt = memory.alloc('race.y_ort', M * N * elem, usage, 'activations');

		const model = matMulNBitsModel({
			K,
			N,
			dataType: dtype === 'f32' ? ONNX_FLOAT : ONNX_FLOAT16,
			b: mlcToMatMulNBits(q),
			scales: dtype === 'f32' ? bytesOf(scalesF32) : bytesOf(scaleBits)
		});
		session = await ort.InferenceSession.create(model, {
			executionProviders: [{ name: 'webgpu', device } as never],
			graphOptimizationLevel: 'all'
		});
		const dataType = dtype === 'f32' ? 'float32' : 'float16';
		const feeds = { A: ort.Tensor.fromGpuBuffer(xOrt, { dataType, dims: [M, K] }) };
		const fetches = { Y: ort.Tensor.fromGpuBuffer(yOrt, { dataType, dims: [M, N] }) };
		const ours = () => {
			const enc = device.createCommandEncoder({ label: 'race.ours' });
			matmul.encode(enc, x, w!, y, M);
			device.queue.submit([enc.finish()]);
		};
		const theirs = () => session!.run(feeds, fetches);
		const timed = async (call: () => unknown, calls: number) => {
			const t0 = performance.now();
			for (let i = 0; i < calls; i++) await call();
			await device.queue.onSubmittedWorkDone();
			return (performance.now() - t0) / calls;
		};

		// warm-up (pipelines), then the answers compared
		const first = await timed(ours, 1);
		await timed(theirs, 1);
		const mine = await readF32(device, y, M * N, 'race.y.read');
		const raw = await readF32(device, yOrt, (M * N * elem) / 4, 'race.y_ort.read');
		const other = dtype === 'f32' ? raw : Float32Array.from(new Uint16Array(raw.buffer), f16ToF32);
		for (let i = 0; i < M * N; i++) {
			row.maxAbsDiff = Math.max(row.maxAbsDiff, Math.abs(mine[i] - other[i]));
			row.maxAbsY = Math.max(row.maxAbsY, Math.abs(mine[i]));
		}
		row.agree = row.maxAbsDiff <= TOLERANCE[dtype] * row.maxAbsY;
		if (!row.agree) return row;

		const calls = Math.max(1, Math.min(200, Math.round(opts.roundMs / Math.max(first, 1e-3))));
		const o: number[] = [];
		const t: number[] = [];
		const ratios: number[] = [];
		for (let r = 0; r < opts.rounds; r++) {
			o.push(await timed(ours, calls));
			t.push(await timed(theirs, calls));
			ratios.push(t[r] / o[r]);
		}
		Object.assign(row, {
			calls,
			rounds: opts.rounds,
			oursMs: median(o),
			theirsMs: median(t),
			ratio: median(ratios)
		});
		return row;
	} finally {
		await session?.release();
		if (w) freeLinear(memory, w);
		memory.freeAll();
	}
}

/**
 * Why the race runs in Chromium only: in Node on Dawn (the `webgpu` package) onnxruntime-web 1.30's
 * WebGPU EP (`onnxruntime-web/webgpu`, the build transformers.js uses) compiles its shader and then
 * never finishes `session.run` — the wasm spins without yielding to the event loop, so Dawn's
 * callbacks never come (tried: lavapipe, 2026-12). Its JSEP build (`onnxruntime-web`) runs there
 * only after copying every SharedArrayBuffer `writeBuffer` (dawn.node rejects them), and in that
 * try it kept a device of its own (bind groups mixing its buffers and ours failed validation). The
 * figures come from Chromium.
 */
const NODE_UNSUPPORTED =
	"onnxruntime-web's WebGPU EP does not finish a run on Dawn in Node; the race runs in headless Chromium (`npm run bench -- --race-only`)";

/** Races every shape × M × dtype (f16 only where the device has `shader-f16`). */
export async function runRace(
	device: GPUDevice,
	opts: RaceOptions,
	log: (m: string) => void = () => {}
): Promise<RaceResult> {
	if (typeof process !== 'undefined' && process.versions?.node)
		return { ortVersion: '', rows: [], error: NODE_UNSUPPORTED };
	let ort: Ort;
	try {
		ort = (await import('onnxruntime-web/webgpu')) as unknown as Ort;
		ort.env.wasm.numThreads = 1; // no cross-origin isolation here; the race is on the GPU
		ort.env.wasm.proxy = false;
		ort.env.logLevel = 'error';
		if (opts.wasmPaths) ort.env.wasm.wasmPaths = opts.wasmPaths;
	} catch (e) {
		return { ortVersion: '', rows: [], error: e instanceof Error ? e.message : String(e) };
	}
	// f32 rows race our f32 path; f16 rows our f16-storage path (the default with shader-f16)
	const f32Matmul = new MatmulKernel(device, { storage: 'f32' });
	const rows: RaceRow[] = [];
	const f16 = device.features.has('shader-f16');
	for (const dtype of ['f32', 'f16'] as const)
		for (const M of opts.ms)
			for (const shape of opts.shapes) {
				if (dtype === 'f16' && !f16) {
					rows.push({
						...emptyRow(shape, M, dtype),
						skipped: 'no shader-f16 on this device (ORT needs it for f16 tensors)'
					});
					continue;
				}
				log(`race: ${shape.name} M=${M} ${dtype}…`);
				try {
					const matmul = dtype === 'f32' ? f32Matmul : new MatmulKernel(device);
					rows.push(await raceOne(ort, device, matmul, shape, M, dtype, opts));
				} catch (e) {
					rows.push({
						...emptyRow(shape, M, dtype),
						skipped: `failed: ${e instanceof Error ? e.message : String(e)}`
					});
				}
				const r = rows[rows.length - 1];
				log(
					`race: ${shape.name} M=${M} ${dtype}: ${r.skipped ?? (r.agree ? `${r.ratio.toFixed(2)}× (ours ${r.oursMs.toFixed(3)} ms, theirs ${r.theirsMs.toFixed(3)} ms)` : `outputs differ by ${r.maxAbsDiff}`)}`
				);
			}
	return { ortVersion: ort.env.versions?.web ?? '', rows };
}

function emptyRow(shape: RaceShape, M: number, dtype: RaceDtype): RaceRow {
	return {
		shape: shape.name,
		M,
		N: shape.N,
		K: shape.K,
		dtype,
		calls: 0,
		rounds: 0,
		oursMs: 0,
		theirsMs: 0,
		ratio: 0,
		maxAbsDiff: 0,
		maxAbsY: 0,
		agree: false
	};
}
