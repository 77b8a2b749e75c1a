/**
 * The engine worker: owns the GPU device and the one copy of the model weights. Thin: it adapts
 * src/lib/webgpu and src/lib/model to the WorkerApi that pages call through comlink. Jobs are
 * serialised: one reply (or, later, one training step) at a time.
 */
import * as Comlink from 'comlink';
import { describeAdapter, requestEngineDevice, type EngineDevice } from '../webgpu/device';
import { RmsNormKernel } from '../webgpu/kernels/rmsnorm';
import { readF32 } from '../webgpu/memory';
import { Gemma2Engine } from '../webgpu/gemma2/forward';
import { rmsnormForward } from '../reference/ops';
import { seededRandom } from '../reference/random-model';
import { filesFromFileList, filesFromUrl, withPaths, type ModelFiles } from '../model/files';
import { hubFiles } from '../model/hub';
import { loadModel, modelFileList } from '../model/load';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import { studioDb } from '../data/db';
import { TrainingJob } from '../training/training-job';
import { GpuLoraAdapter } from '../training/gpu-adapter';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, importPeftFolder } from '../lora/peft';
import type {
	ChatProgress,
	ChatRequest,
	ChatResult,
	WorkerApi,
	GpuReport,
	KernelCheck,
	LoadProgress,
	ModelInfo,
	ModelSource
} from './api';

let devicePromise: Promise<EngineDevice> | undefined;

function device(): Promise<EngineDevice> {
	devicePromise ??= requestEngineDevice({
		onLost: (r) => {
			// A lost device takes the model with it; the next call asks for a fresh device.
			console.error(`GPU device lost (${r.reason}): ${r.message}`);
			devicePromise = undefined;
			loaded = null;
		}
	});
	return devicePromise;
}

interface LoadedModel {
	info: ModelInfo;
	engine: Gemma2Engine;
	tokenizer: Tokenizer;
	/** Token ids currently in the KV cache, so the next turn only feeds what is new. */
	cachedIds: number[];
	/** The adapter chat applies, uploaded once. */
	chatAdapter: GpuLoraAdapter | null;
}
let training: TrainingJob | null = null;
let loaded: LoadedModel | null = null;
let abort: AbortController | null = null;
/** One job at a time: chat replies (and later training steps) wait for each other. */
let queue: Promise<unknown> = Promise.resolve();
function serialise<T>(job: () => Promise<T>): Promise<T> {
	const run = queue.then(job, job);
	queue = run.catch(() => undefined);
	return run;
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

function filesOf(
	source: ModelSource,
	onProgress?: (p: LoadProgress) => void
): { files: ModelFiles; id: string; label: string; prefetch?: () => Promise<void> } {
	switch (source.kind) {
		case 'hub': {
			const files = hubFiles(source.repo, source.revision, {
				baseUrl: source.baseUrl,
				onProgress: (p) =>
					onProgress?.({
						phase: 'download',
						file: p.file,
						fileLoaded: p.fileLoaded,
						fileTotal: p.fileTotal,
						loaded: p.loaded,
						total: p.total,
						bytesPerSecond: p.bytesPerSecond,
						etaSeconds: p.etaSeconds,
						fromCache: p.fromCache
					})
			});
			return {
				files,
				id: `${source.repo}@${source.revision}`,
				label: source.repo,
				// Download everything first (known total, ETA, resumable); loading then reads the cache.
				prefetch: async () => files.prefetch(await modelFileList(files))
			};
		}
		case 'url': {
			const url = new URL(source.url, self.location.href).href;
			return { files: filesFromUrl(url.endsWith('/') ? url : `${url}/`), id: url, label: url };
		}
		case 'files':
			return {
				files: filesFromFileList(withPaths(source.files, source.paths)),
				id: `local:${source.name}`,
				label: source.name
			};
	}
}

const api: WorkerApi = {
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
		const got = await readF32(dev, yb, T * size);
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
	},

	loadModel(source, onProgress) {
		return serialise(async () => {
			const t0 = performance.now();
			const { device: dev } = await device();
			const { files, id, label, prefetch } = filesOf(source, onProgress);
			await prefetch?.();
			loaded?.engine.destroy();
			loaded = null;
			const tokenizer = await loadTokenizer(files);
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
			const engine = await Gemma2Engine.create(dev, model.weights, { kvCacheDtype: 'f16' });
			const mem = engine.memoryReport();
			const info: ModelInfo = {
				id,
				label,
				layout: model.layout,
				quantization: model.quantization,
				config: model.config,
				gpuBytes: {
					current: mem.current,
					peak: mem.peak,
					byPurpose: { ...mem.byPurpose }
				},
				loadSeconds: (performance.now() - t0) / 1000
			};
			loaded = { info, engine, tokenizer, cachedIds: [], chatAdapter: null };
			onProgress?.({ phase: 'ready', loaded: 0, total: null });
			return info;
		});
	},

	async modelInfo() {
		return loaded?.info ?? null;
	},

	unloadModel() {
		return serialise(async () => {
			loaded?.engine.destroy();
			loaded = null;
		});
	},

	chat(request: ChatRequest, onProgress?: (p: ChatProgress) => void): Promise<ChatResult> {
		return serialise(async () => {
			if (!loaded) throw new Error('No model is loaded: load one on the chat page first.');
			const m = loaded;
			const t0 = performance.now();
			const ids = m.tokenizer.encodeChat(request.messages, {
				characterPrompt: request.characterPrompt,
				addGenerationPrompt: true
			});
			const limit = m.engine.maxTokens;
			if (ids.length >= limit)
				throw new Error(
					`The conversation is ${ids.length} tokens long; the context holds ${limit}. Start a new chat or shorten it.`
				);
			// Reuse the KV cache when the new prompt extends what it holds (the usual next turn).
			const reusable =
				m.cachedIds.length > 0 &&
				m.cachedIds.length <= ids.length &&
				m.cachedIds.every((id, i) => ids[i] === id);
			if (!reusable) {
				m.engine.reset();
				m.cachedIds = [];
			}
			const fresh = ids.slice(m.cachedIds.length);
			const s = request.sampling;
			abort = new AbortController();
			const decoder = m.tokenizer.streamDecoder({ skipSpecialTokens: true });
			const stopIds = m.info.config.eosIds;
			const out: number[] = [];
			let text = '';
			let firstTokenAt = 0;
			let stopReason: ChatResult['stopReason'] = 'length';
			const reusedTokens = m.cachedIds.length;
			m.cachedIds = ids; // the engine appends `fresh` first thing
			try {
				for await (const id of m.engine.generate(
					fresh,
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
						stopReason = 'end-of-turn';
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
				if (abort.signal.aborted) stopReason = 'stopped';
				else if (stopReason === 'length' && ids.length + out.length >= limit)
					stopReason = 'context-full';
			} catch (e) {
				m.engine.reset();
				m.cachedIds = [];
				throw e;
			} finally {
				abort = null;
			}
			text += decoder.flush();
			// Every sampled token but the last was fed back into the cache.
			m.cachedIds = [...ids, ...out.slice(0, -1)];
			const secs = firstTokenAt ? (performance.now() - firstTokenAt) / 1000 : 0;
			return {
				text,
				tokens: out.length,
				tokensPerSecond: out.length > 1 && secs > 0 ? (out.length - 1) / secs : 0,
				promptTokens: ids.length,
				reusedTokens,
				stopReason,
				firstTokenSeconds: ((firstTokenAt || performance.now()) - t0) / 1000
			};
		});
	},

	async stop() {
		abort?.abort();
	},

	nextTokenProbabilities(input, tokenIds) {
		return serialise(async () => {
			if (!loaded) throw new Error('No model is loaded: load one on the chat page first.');
			const m = loaded;
			const prompt =
				m.tokenizer.renderChat(input.messages, {
					characterPrompt: input.characterPrompt,
					addGenerationPrompt: true
				}) + input.modelPrefix;
			const ids = m.tokenizer.encode(prompt);
			if (ids.length >= m.engine.maxTokens)
				throw new Error(
					`The judge prompt is ${ids.length} tokens long; the context holds ${m.engine.maxTokens}.`
				);
			m.engine.reset();
			m.cachedIds = [];
			await m.engine.prefill(ids);
			const logits = await m.engine.lastLogits();
			m.engine.reset();
			let max = -Infinity;
			for (const x of logits) if (x > max) max = x;
			let sum = 0;
			for (const x of logits) sum += Math.exp(x - max);
			return tokenIds.map((id) => {
				if (!(id >= 0 && id < logits.length))
					throw new Error(`token id ${id} is outside the vocabulary (${logits.length})`);
				return Math.exp(logits[id] - max) / sum;
			});
		});
	},

	async encode(texts) {
		if (!loaded) throw new Error('No model is loaded: load one on the chat page first.');
		return texts.map((t) => loaded!.tokenizer.encode(t));
	},

	train(runId, onEvent) {
		return serialise(async () => {
			if (!loaded) throw new Error('No model is loaded: load the base model first.');
			const { device: dev } = await device();
			const m = loaded;
			training = new TrainingJob(
				{
					device: dev,
					engine: m.engine,
					tokenizer: { encode: (text, o) => m.tokenizer.encode(text, { addBos: o.addBos }) },
					config: m.info.config,
					modelId: m.info.id,
					db: studioDb()
				},
				runId
			);
			m.cachedIds = [];
			try {
				return await training.run(onEvent);
			} finally {
				training = null;
				m.cachedIds = [];
			}
		});
	},

	async pauseTraining() {
		training?.pause();
	},

	async stopTraining() {
		training?.stop();
	},

	setChatAdapter(adapterId) {
		return serialise(async () => {
			if (!loaded) throw new Error('No model is loaded: load one on the chat page first.');
			const m = loaded;
			const { device: dev } = await device();
			m.chatAdapter?.destroy();
			m.chatAdapter = null;
			m.engine.lora = null;
			m.info.adapter = undefined;
			if (adapterId) {
				const record = await studioDb().adapters.get(adapterId);
				if (!record) throw new Error(`adapter ${adapterId} not found`);
				const imported = importPeftFolder(
					m.info.config,
					new Map([
						[ADAPTER_CONFIG_FILE, new TextEncoder().encode(record.configJson)],
						[ADAPTER_WEIGHTS_FILE, new Uint8Array(await record.weights.arrayBuffer())]
					])
				);
				m.chatAdapter = new GpuLoraAdapter(dev, m.engine.memory, imported.adapter);
				m.engine.lora = m.chatAdapter;
				m.info.adapter = { id: record.id, name: record.name };
			}
			m.engine.reset();
			m.cachedIds = [];
			return m.info;
		});
	}
};

Comlink.expose(api);
