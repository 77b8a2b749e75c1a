/**
 * Runs inside headless Chromium for the engine CLI: the real engine (src/lib/webgpu) on the page's
 * WebGPU device, the real loaders (src/lib/model) over the model folder the CLI serves at /__model/,
 * and a PEFT adapter (folder or the studio's zip) served at /__adapter/. Numbers travel back as
 * base64 of f32 bytes, so nothing is rounded on the way.
 */
import { requestEngineDevice } from '../../src/lib/webgpu/device';
import { filesFromUrl, type ModelFiles } from '../../src/lib/model/files';
import { loadModel, type LoadedModel } from '../../src/lib/model/load';
import { Gemma2Backward } from '../../src/lib/webgpu/gemma2/backward';
import { ModelSession } from '../../src/lib/session/model-session';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import { createTrainingStack } from '../../src/lib/training/stack';
import { createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import { parseTrainingConfig } from '../../src/lib/lora/config';
import { parseExamplesJsonl } from '../../src/lib/lora/examples';
import { shiftedTargets } from '../../src/lib/lora/labels';
import {
	ADAPTER_CONFIG_FILE,
	ADAPTER_WEIGHTS_FILE,
	exportPeftFiles,
	importPeftFolder,
	importPeftZip
} from '../../src/lib/lora/peft';
import type { StepReport } from '../../src/lib/training/trainer';
import { trainerStateFile } from '../../src/lib/lora/trainer-state';

export interface HarnessCommand {
	command: 'forward' | 'generate' | 'loss' | 'train';
	tokens?: number[];
	labels?: number[];
	maxNewTokens?: number;
	weights?: 'f32' | 'q4';
	/** A PEFT adapter is served at /__adapter/: a folder (''), or this zip file name in it. */
	adapter?: { zip?: string };
	/** train: the JSONL text, the config JSON text, where the initial adapter is (as `adapter`). */
	data?: string;
	config?: string;
	baseModel?: string;
}

export interface HarnessResult {
	vocabSize: number;
	/** forward: base64 of Float32Array [T, V] */
	logits?: string;
	/** generate: new token ids */
	tokens?: number[];
	/** loss: mean loss and base64 gradients by PEFT tensor name */
	loss?: number;
	grads?: Record<string, string>;
	/** train: the PEFT files (config text, safetensors base64) and the step log */
	adapterConfig?: string;
	adapterWeights?: string;
	log?: StepReport[];
	/** train: trainer_state.json text, as the Hugging Face Trainer writes it */
	trainerState?: string;
	warnings?: string[];
	adapter: string;
	layout: string;
	quantization: string;
	peakBytes: number;
	seconds: number;
}

function toBase64(a: Uint8Array | Float32Array): string {
	const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
	let s = '';
	for (let i = 0; i < bytes.length; i += 0x8000)
		s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(s);
}

async function loadAdapter(model: LoadedModel, spec: { zip?: string }): Promise<LoraAdapter> {
	const files: ModelFiles = filesFromUrl(`${location.origin}/__adapter/`);
	const imported = spec.zip
		? await importPeftZip(model.config, new Uint8Array(await files.bytes(spec.zip)))
		: importPeftFolder(
				model.config,
				new Map([
					[ADAPTER_CONFIG_FILE, new TextEncoder().encode(await files.text(ADAPTER_CONFIG_FILE))],
					[ADAPTER_WEIGHTS_FILE, new Uint8Array(await files.bytes(ADAPTER_WEIGHTS_FILE))]
				])
			);
	for (const w of imported.warnings) console.warn(`adapter: ${w}`);
	return imported.adapter;
}

async function run(cmd: HarnessCommand): Promise<HarnessResult> {
	const t0 = performance.now();
	const gpu = await requestEngineDevice();
	const { device, report } = gpu;
	const session = new ModelSession({ requestDevice: async () => gpu });
	const modelFiles = filesFromUrl(`${location.origin}/__model/`);
	const model = await loadModel(modelFiles, { weights: cmd.weights });
	const meta = { id: cmd.baseModel ?? 'model', label: 'model' };
	const base = {
		vocabSize: model.config.vocabSize,
		adapter: [report.vendor, report.architecture, report.description].filter(Boolean).join(' '),
		layout: model.layout,
		quantization: model.quantization
	};
	const done = () => ({
		peakBytes: session.engine.memory.peak,
		seconds: (performance.now() - t0) / 1000
	});
	let lora: GpuLoraAdapter | undefined;
	let backward: Gemma2Backward | undefined;
	try {
		if (cmd.command === 'train')
			return { ...base, ...(await train(cmd, model, modelFiles, session)), ...done() };
		const T = cmd.tokens!.length;
		await session.open(model, meta, { maxTokens: Math.max(T + (cmd.maxNewTokens ?? 0) + 1, 16) });
		const engine = session.engine;
		if (cmd.adapter) {
			lora = new GpuLoraAdapter(device, engine.memory, await loadAdapter(model, cmd.adapter), {
				trainable: cmd.command === 'loss',
				maxTokens: T
			});
			engine.lora = lora;
		}
		if (cmd.command === 'forward') {
			const logits = await engine.forwardLogits(cmd.tokens!);
			return { ...base, logits: toBase64(logits), ...done() };
		}
		if (cmd.command === 'loss') {
			backward = new Gemma2Backward(engine, lora!);
			const enc = device.createCommandEncoder();
			lora!.zeroGrads(enc);
			device.queue.submit([enc.finish()]);
			// mean over the targets: gradScale 1/count, count = supervised targets after the shift
			const count = shiftedTargets(cmd.labels!).positions.length;
			if (count === 0) throw new Error('--labels: no supervised target (labels[0] is never one)');
			const r = await backward.lossAndGrads(cmd.tokens!, cmd.labels!, { gradScale: 1 / count });
			const grads: Record<string, string> = {};
			for (const [k, g] of await lora!.downloadGrads()) grads[k] = toBase64(g);
			return { ...base, loss: r.lossSum / r.count, grads, ...done() };
		}
		const out: number[] = [];
		// Greedy; the contract stops after 1 or 107 (Gemma's <eos> and <end_of_turn>), stop id included.
		for await (const id of engine.generate(
			cmd.tokens!,
			{ temperature: 0 },
			{ maxNewTokens: cmd.maxNewTokens ?? 32, stopIds: [1, 107] }
		))
			out.push(id);
		return { ...base, tokens: out, ...done() };
	} finally {
		backward?.destroy();
		lora?.destroy();
		session.close();
		device.destroy();
	}
}

async function train(
	cmd: HarnessCommand,
	model: LoadedModel,
	modelFiles: ModelFiles,
	session: ModelSession
): Promise<Partial<HarnessResult>> {
	const { training, lora: loraConfig, warnings } = parseTrainingConfig(JSON.parse(cmd.config!));
	// chats need the model's tokenizer; pre-tokenized rows do not
	const needsTokenizer = cmd.data!.split(/\r?\n/).some((l) => l.trim() && !/"input_ids"/.test(l));
	const tokenizer = needsTokenizer
		? await (await import('../../src/lib/model/tokenizer')).loadTokenizer(modelFiles)
		: {
				encode: () => {
					throw new Error('no tokenizer');
				}
			};
	const { examples, errors } = parseExamplesJsonl(cmd.data!, tokenizer, {
		vocabSize: model.config.vocabSize
	});
	if (errors.length)
		throw new Error(
			`--data: ${errors.length} bad line(s):\n${errors
				.slice(0, 10)
				.map((e) => e.message)
				.join('\n')}`
		);
	const host = cmd.adapter
		? await loadAdapter(model, cmd.adapter)
		: createLoraAdapter(model.config, loraConfig, training.seed);
	const maxLen = Math.max(...examples.map((e) => e.input_ids.length));
	await session.open(
		model,
		{ id: cmd.baseModel ?? 'model', label: 'model' },
		{ maxTokens: Math.max(maxLen, 16) }
	);
	const memory = session.engine.memory;
	const stack = await createTrainingStack(session.engine, host, {
		maxTokens: maxLen,
		args: training,
		train: examples,
		gpuBytes: () => memory.current,
		onStep: (r) =>
			console.log(
				`step ${r.step}/${r.totalSteps} loss ${r.loss.toFixed(4)} lr ${r.learningRate.toExponential(3)} grad_norm ${r.gradNorm.toFixed(4)}`
			)
	});
	try {
		const started = performance.now();
		await stack.trainer.run();
		const files = exportPeftFiles(model.config, await stack.lora.download(), {
			baseModel: cmd.baseModel ?? 'google/gemma-2-2b-jpn-it'
		});
		const log = stack.trainer.log.filter((r): r is StepReport => 'loss' in r);
		return {
			adapterConfig: new TextDecoder().decode(files[ADAPTER_CONFIG_FILE]),
			adapterWeights: toBase64(files[ADAPTER_WEIGHTS_FILE]),
			log,
			trainerState: trainerStateFile({
				args: training,
				numExamples: examples.length,
				metrics: log,
				runtimeSeconds: (performance.now() - started) / 1000
			}),
			warnings
		};
	} finally {
		stack.destroy();
	}
}

(globalThis as unknown as { runEngineCommand: typeof run }).runEngineCommand = run;
(globalThis as unknown as { engineHarnessReady: boolean }).engineHarnessReady = true;
