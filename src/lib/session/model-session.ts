/**
 * The model session: the one loaded model and everything that belongs with it — the GPU device,
 * the Gemma2Engine (weights uploaded once), the tokenizer, the token ids its KV cache holds (so a
 * chat's next turn only feeds what is new), the adapter chat applies, and the training run that
 * borrows the engine. The model worker forwards each API call here (worker/model.worker.ts); the
 * engine CLI's harness opens models through it too.
 *
 * Jobs that use the model are serialised (one reply, judge query or training run at a time: a chat
 * waits for a training run; pause the run, chat, resume); `stop`, `pauseTraining` and
 * `stopTraining` are not queued, they signal the running job. Failures are SessionErrors
 * (errors.ts). A lost device drops the model: the failing call says DeviceLost and the next load
 * asks for a fresh device, without reloading the page.
 */
import type { StudioDatabase } from '../data/db';
import type { RunStatus } from '../data/types';
import { loadModel, type LoadedModel } from '../model/load';
import type { Tokenizer } from '../model/tokenizer';
import type { ModelFiles } from '../model/files';
import { PeftFormatError } from '../lora/peft';
import { GpuLoraAdapter } from '../training/gpu-adapter';
// The studio's database (Dexie) and the tokenizer (transformers.js) are imported when first used:
// the CLI harness opens models through this session on a page that needs neither.
import type { TrainingEvent, TrainingJob } from '../training/training-job';
import {
	requestEngineDevice,
	type DeviceLostReport,
	type EngineDevice,
	type RequestDeviceOptions
} from '../webgpu/device';
import { Gemma2Engine, type EngineOptions } from '../webgpu/gemma2/forward';
import { RmsNormKernel } from '../webgpu/kernels/rmsnorm';
import { GpuMemory, readF32 } from '../webgpu/memory';
import {
	adapterMismatch,
	adapterNotFound,
	contextOverflow,
	deviceLost,
	noModelLoaded,
	trainingAlreadyRunning,
	isSessionError
} from './errors';
import { allocating } from './gpu-faults';
import { gpuReport, noGpuReport } from './gpu-report';
import { KvPrefix } from './kv-prefix';
import { resolveModelSource } from './model-source';
import { nextTokenProbabilities, stopReason } from './next-token';
import type {
	ChatProgress,
	ChatRequest,
	ChatResult,
	GpuReport,
	LoadProgress,
	ModelInfo,
	ModelSource,
	NextTokenInput,
	RmsNormProbe
} from './types';

export interface SessionOptions {
	/** How the device is asked for (default requestEngineDevice; the CLI hands in its own). */
	requestDevice?: (opts: RequestDeviceOptions) => Promise<EngineDevice>;
	/** The studio's database (training runs, adapters); needed by train and setChatAdapter. */
	db?: () => StudioDatabase;
}

export interface OpenOptions extends Pick<
	EngineOptions,
	'maxTokens' | 'kvCacheDtype' | 'prefillChunk'
> {
	/** The model's tokenizer when already loaded; else it is read from `files` on first use. */
	tokenizer?: Tokenizer;
	files?: ModelFiles;
}

/** The loaded model. */
interface OpenModel {
	info: ModelInfo;
	engine: Gemma2Engine;
	memory: GpuMemory;
	tokenizer: Promise<Tokenizer> | null;
	/** The ids the engine's KV cache holds. */
	prefix: KvPrefix;
	/** The adapter chat applies, uploaded once. */
	chatAdapter: GpuLoraAdapter | null;
}

/** How long a failed job waits for the device's lost report before it says what failed. */
const LOST_REPORT_MS = 100;

export class ModelSession {
	private gpu: Promise<EngineDevice> | null = null;
	private model: OpenModel | null = null;
	/** Why the last model was dropped, when a lost device dropped it (cleared by the next load). */
	private lost: DeviceLostReport | null = null;
	private abort: AbortController | null = null;
	private training: TrainingJob | null = null;
	private trainingRunId: string | null = null;
	private queue: Promise<unknown> = Promise.resolve();

	constructor(private readonly options: SessionOptions = {}) {}

	/** The session's device, asked for on first use and again after it was lost. */
	device(): Promise<EngineDevice> {
		if (!this.gpu) {
			const request = this.options.requestDevice ?? requestEngineDevice;
			const gpu = request({ onLost: (report) => this.deviceLost(gpu, report) });
			this.gpu = gpu;
			gpu.catch(() => {
				if (this.gpu === gpu) this.gpu = null;
			});
		}
		return this.gpu;
	}

	async gpuReport(): Promise<GpuReport> {
		if (!('gpu' in navigator) || !navigator.gpu)
			return noGpuReport(
				'navigator.gpu is not defined in the worker: this browser does not expose WebGPU.'
			);
		try {
			return gpuReport(await this.device());
		} catch (e) {
			return noGpuReport(e instanceof Error ? e.message : String(e));
		}
	}

	/** RMSNorm of `probe.x` ([rows, size]) with `probe.weight`, computed by the engine's kernel. */
	async kernelCheck({ x, weight, rows, size, eps }: RmsNormProbe): Promise<Float32Array> {
		const { device } = await this.device();
		const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
		const memory = new GpuMemory(device);
		const make = (name: string, data: Float32Array) =>
			memory.allocWith(`kernel-check.${name}`, data, usage, 'scratch');
		const y = make('y', new Float32Array(rows * size));
		try {
			const enc = device.createCommandEncoder();
			new RmsNormKernel(device).encode(enc, make('x', x), make('w', weight), y, rows, size, eps);
			device.queue.submit([enc.finish()]);
			return await readF32(device, y, rows * size);
		} finally {
			memory.freeAll();
		}
	}

	/** Downloads (or reads from the cache / picked files), uploads to the GPU, loads the tokenizer. */
	load(source: ModelSource, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
		return this.job(async () => {
			const t0 = performance.now();
			const { files, id, label, prefetch } = resolveModelSource(source, onProgress);
			await this.device();
			await prefetch?.();
			this.close();
			const tokenizer = await readTokenizer(files);
			const model = await loadModel(files, {
				onProgress: (p) =>
					onProgress?.({
						phase: 'download',
						file: p.file,
						fileLoaded: p.loaded,
						fileTotal: p.total,
						loaded: p.loaded,
						total: p.total
					})
			});
			onProgress?.({ phase: 'gpu', loaded: 0, total: null });
			// f16 KV cache: half the memory for long chats; softmax and accumulation stay f32.
			const info = await this.open(model, { id, label }, { tokenizer, kvCacheDtype: 'f16' });
			info.loadSeconds = (performance.now() - t0) / 1000;
			onProgress?.({ phase: 'ready', loaded: 0, total: null });
			return info;
		});
	}

	/**
	 * Uploads host weights (model/load.ts) and makes them the session's model, replacing any other.
	 * Not queued: `load` calls it inside its job; the CLI harness calls it directly.
	 */
	async open(
		model: LoadedModel,
		meta: { id: string; label: string },
		opts: OpenOptions = {}
	): Promise<ModelInfo> {
		const { device } = await this.device();
		this.close();
		const memory = new GpuMemory(device);
		const engine = await allocating(
			device,
			// the high-water mark: a failed engine frees what it made before this is read
			() => memory.peak,
			() => Gemma2Engine.create(device, model.weights, { ...opts, memory }),
			() => memory.freeAll()
		);
		const mem = engine.memoryReport();
		const info: ModelInfo = {
			id: meta.id,
			label: meta.label,
			layout: model.layout,
			quantization: model.quantization,
			config: model.config,
			gpuBytes: { current: mem.current, peak: mem.peak, byPurpose: { ...mem.byPurpose } },
			loadSeconds: 0
		};
		const tokenizer = opts.tokenizer
			? Promise.resolve(opts.tokenizer)
			: opts.files
				? readTokenizer(opts.files)
				: null;
		tokenizer?.catch(() => undefined); // read when asked for (tokenizer())
		this.model = {
			info,
			engine,
			memory,
			tokenizer,
			prefix: new KvPrefix(engine),
			chatAdapter: null
		};
		this.lost = null;
		return info;
	}

	/** The loaded model's engine. */
	get engine(): Gemma2Engine {
		return this.loaded().engine;
	}

	/** The loaded model's tokenizer (read from its files on first use when it was not given). */
	tokenizer(): Promise<Tokenizer> {
		const m = this.loaded();
		if (!m.tokenizer) throw new Error('this model was opened without its files: no tokenizer');
		return m.tokenizer;
	}

	info(): ModelInfo | null {
		return this.model?.info ?? null;
	}

	/** Streams a reply to the conversation; `onProgress` gets the growing text. */
	chat(request: ChatRequest, onProgress?: (p: ChatProgress) => void): Promise<ChatResult> {
		return this.job(async () => {
			const m = this.loaded();
			const tokenizer = await this.tokenizer();
			const t0 = performance.now();
			const ids = tokenizer.encodeChat(request.messages, {
				characterPrompt: request.characterPrompt,
				addGenerationPrompt: true
			});
			const limit = m.engine.maxTokens;
			if (ids.length >= limit) throw contextOverflow({ tokens: ids.length, limit });
			const { fresh, reused } = m.prefix.extend(ids);
			const s = request.sampling;
			const abort = (this.abort = new AbortController());
			const decoder = tokenizer.streamDecoder({ skipSpecialTokens: true });
			const stopIds = m.info.config.eosIds;
			const out: number[] = [];
			let text = '';
			let firstTokenAt = 0;
			let endOfTurn = false;
			let unfed = 0;
			try {
				// prompt processing, a chunk at a time: Stop is heard between chunks; after a Stop the
				// unfed rest is not fed and generate() returns at once
				const rest = await feedPrompt(m.engine, fresh, abort.signal);
				if (abort.signal.aborted) unfed = rest.length;
				for await (const id of m.engine.generate(
					rest.slice(unfed),
					{
						temperature: s.temperature,
						topK: s.topK,
						topP: s.topP,
						repetitionPenalty: s.repetitionPenalty
					},
					{
						maxNewTokens: Math.min(s.maxNewTokens, limit - ids.length),
						stopIds,
						signal: abort.signal,
						seed: s.seed ?? Date.now() % 2 ** 31,
						penaltyIds: ids
					}
				)) {
					if (!firstTokenAt) firstTokenAt = performance.now();
					out.push(id);
					if (stopIds.includes(id)) {
						endOfTurn = true;
						break;
					}
					text += decoder.push(id);
					const secs = (performance.now() - firstTokenAt) / 1000;
					onProgress?.({
						text,
						tokens: out.length,
						tokensPerSecond: out.length > 1 ? (out.length - 1) / secs : 0
					});
				}
			} catch (e) {
				m.prefix.reset();
				throw e;
			} finally {
				this.abort = null;
			}
			text += decoder.flush();
			m.prefix.generated(ids.slice(0, ids.length - unfed), out);
			const secs = firstTokenAt ? (performance.now() - firstTokenAt) / 1000 : 0;
			return {
				text,
				tokens: out.length,
				tokensPerSecond: out.length > 1 && secs > 0 ? (out.length - 1) / secs : 0,
				promptTokens: ids.length,
				reusedTokens: reused,
				stopReason: stopReason({
					endOfTurn,
					aborted: abort.signal.aborted,
					tokens: ids.length + out.length,
					limit
				}),
				firstTokenSeconds: ((firstTokenAt || performance.now()) - t0) / 1000
			};
		});
	}

	/** Stops the reply being generated (the partial reply is returned by `chat`). */
	stop(): void {
		this.abort?.abort();
	}

	/**
	 * Probabilities (softmax over the whole vocabulary, after the final softcap) of each of
	 * `tokenIds` as the next token after the chat rendered with a model turn opened and
	 * `modelPrefix` written into it: how the local judge reads scores (G-Eval style).
	 */
	nextTokenProbabilities(input: NextTokenInput, tokenIds: number[]): Promise<number[]> {
		return this.job(async () => {
			const m = this.loaded();
			const tokenizer = await this.tokenizer();
			const prompt =
				tokenizer.renderChat(input.messages, {
					characterPrompt: input.characterPrompt,
					addGenerationPrompt: true
				}) + input.modelPrefix;
			const ids = tokenizer.encode(prompt);
			if (ids.length >= m.engine.maxTokens)
				throw contextOverflow({ tokens: ids.length, limit: m.engine.maxTokens });
			m.prefix.reset();
			await m.engine.prefill(ids);
			const logits = await m.engine.lastLogits();
			m.engine.reset();
			return nextTokenProbabilities(logits, tokenIds);
		});
	}

	/** Token ids of each text with the loaded model's tokenizer (no BOS). */
	async encode(texts: string[]): Promise<number[][]> {
		const tokenizer = await this.tokenizer();
		return texts.map((t) => tokenizer.encode(t));
	}

	/**
	 * Runs (or resumes, from its newest checkpoint) the training run `runId` stored in the database,
	 * on the loaded model. Metrics and checkpoints are written as it goes.
	 */
	train(runId: string, onEvent?: (e: TrainingEvent) => void): Promise<RunStatus> {
		if (this.trainingRunId)
			return Promise.reject(trainingAlreadyRunning({ runId: this.trainingRunId }));
		this.trainingRunId = runId;
		return this.job(async () => {
			const m = this.loaded();
			const tokenizer = await this.tokenizer();
			const { TrainingJob } = await import('../training/training-job');
			this.training = new TrainingJob(
				{
					engine: m.engine,
					tokenizer: { encode: (text, o) => tokenizer.encode(text, { addBos: o.addBos }) },
					chatTokenizer: tokenizer,
					config: m.info.config,
					modelId: m.info.id,
					db: this.db()
				},
				runId
			);
			m.prefix.forget();
			try {
				return await this.training.run(onEvent);
			} finally {
				this.training = null;
				m.prefix.forget();
			}
		}).finally(() => (this.trainingRunId = null));
	}

	/** Pause (checkpoint, resumable) the running training after its current example. */
	pauseTraining(): void {
		this.training?.pause();
	}

	/** Stop the running training after its current step (its checkpoints stay). */
	stopTraining(): void {
		this.training?.stop();
	}

	/** Apply a stored adapter (db.adapters) to chat, or none. */
	setChatAdapter(adapterId: string | null): Promise<ModelInfo> {
		return this.job(async () => {
			const m = this.loaded();
			m.chatAdapter?.destroy();
			m.chatAdapter = null;
			m.engine.lora = null;
			m.info.adapter = undefined;
			if (adapterId) {
				const record = await this.db().adapters.get(adapterId);
				if (!record) throw adapterNotFound({ id: adapterId });
				const { loadStoredAdapter } = await import('../data/adapters');
				const imported = await loadStoredAdapter(m.info.config, record).catch((e: unknown) => {
					if (e instanceof PeftFormatError)
						throw adapterMismatch({ adapter: record.name, detail: e.message });
					throw e;
				});
				const { device } = await this.device();
				m.chatAdapter = await allocating(
					device,
					() => m.memory.current,
					() => new GpuLoraAdapter(device, m.memory, imported.adapter),
					() => undefined
				);
				m.engine.lora = m.chatAdapter;
				m.info.adapter = { id: record.id, name: record.name };
			}
			m.prefix.reset();
			return m.info;
		});
	}

	/** Frees the model (engine, adapter, every GPU buffer); the device stays. */
	close(): void {
		const m = this.model;
		this.model = null;
		if (!m) return;
		m.chatAdapter?.destroy();
		m.engine.destroy();
		m.memory.freeAll();
	}

	// ---------------------------------------------------------------------------------------------

	private loaded(): OpenModel {
		if (this.model) return this.model;
		throw this.lost ? deviceLost(this.lost) : noModelLoaded();
	}

	private db(): StudioDatabase {
		if (!this.options.db) throw new Error('this session has no database');
		return this.options.db();
	}

	/** One job at a time; a failure on a device that is being lost says DeviceLost. */
	private job<T>(run: () => Promise<T>): Promise<T> {
		const guarded = async () => {
			const gpu = this.gpu;
			try {
				return await run();
			} catch (e) {
				if (isSessionError(e)) throw e;
				const report = this.lost ?? (gpu && (await lostWithin(await gpu, LOST_REPORT_MS)));
				if (report) throw deviceLost(report);
				throw e;
			}
		};
		const result = this.queue.then(guarded, guarded);
		this.queue = result.catch(() => undefined);
		return result;
	}

	private deviceLost(gpu: Promise<EngineDevice>, report: DeviceLostReport): void {
		console.error(`GPU device lost (${report.reason}): ${report.message}`);
		if (this.gpu !== gpu) return;
		this.gpu = null;
		this.abort?.abort();
		this.training?.stop();
		if (this.model) {
			this.close();
			this.lost = report;
		}
	}
}

/**
 * Feeds all but the last chunk of a prompt's `fresh` tokens, one chunk at a time, until `signal`
 * aborts; returns what is left to feed (the last chunk, for generate()).
 */
async function feedPrompt(
	engine: Gemma2Engine,
	fresh: number[],
	signal: AbortSignal
): Promise<number[]> {
	const C = engine.prefillChunk;
	let at = 0;
	for (; fresh.length - at > C && !signal.aborted; at += C)
		await engine.append(fresh.slice(at, at + C));
	return fresh.slice(at);
}

async function readTokenizer(files: ModelFiles): Promise<Tokenizer> {
	const { loadTokenizer } = await import('../model/tokenizer');
	return loadTokenizer(files);
}

/** The device's lost report if it comes within `ms`, else null. */
async function lostWithin(gpu: EngineDevice, ms: number): Promise<DeviceLostReport | null> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
	try {
		return await Promise.race([gpu.lost, timeout]);
	} finally {
		clearTimeout(timer);
	}
}
