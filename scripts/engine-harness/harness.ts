/**
 * Runs inside headless Chromium for the engine CLI: the real engine (src/lib/webgpu) on the page's
 * WebGPU device, the real loaders (src/lib/model) over the model folder the CLI serves at /__model/.
 * Numbers travel back as base64 of f32 bytes, so nothing is rounded on the way.
 */
import { requestEngineDevice } from '../../src/lib/webgpu/device';
import { filesFromUrl } from '../../src/lib/model/files';
import { loadModel } from '../../src/lib/model/load';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';

export interface HarnessCommand {
	command: 'forward' | 'generate';
	tokens: number[];
	maxNewTokens?: number;
	weights?: 'f32' | 'q4';
}

export interface HarnessResult {
	vocabSize: number;
	/** forward: base64 of Float32Array [T, V] */
	logits?: string;
	/** generate: new token ids */
	tokens?: number[];
	adapter: string;
	layout: string;
	quantization: string;
	peakBytes: number;
	seconds: number;
}

function toBase64(a: Float32Array): string {
	const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
	let s = '';
	for (let i = 0; i < bytes.length; i += 0x8000)
		s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(s);
}

async function run(cmd: HarnessCommand): Promise<HarnessResult> {
	const t0 = performance.now();
	const { device, report } = await requestEngineDevice();
	const model = await loadModel(filesFromUrl(`${location.origin}/__model/`), {
		weights: cmd.weights
	});
	const engine = await Gemma2Engine.create(device, model.weights, {
		maxTokens: Math.max(cmd.tokens.length + (cmd.maxNewTokens ?? 0) + 1, 16)
	});
	try {
		const base = {
			vocabSize: model.config.vocabSize,
			adapter: [report.vendor, report.architecture, report.description].filter(Boolean).join(' '),
			layout: model.layout,
			quantization: model.quantization
		};
		if (cmd.command === 'forward') {
			const logits = await engine.forwardLogits(cmd.tokens);
			return {
				...base,
				logits: toBase64(logits),
				peakBytes: engine.memory.peak,
				seconds: (performance.now() - t0) / 1000
			};
		}
		const out: number[] = [];
		// Greedy; the contract stops after 1 or 107 (Gemma's <eos> and <end_of_turn>), stop id included.
		for await (const id of engine.generate(
			cmd.tokens,
			{ temperature: 0 },
			{ maxNewTokens: cmd.maxNewTokens ?? 32, stopIds: [1, 107] }
		))
			out.push(id);
		return {
			...base,
			tokens: out,
			peakBytes: engine.memory.peak,
			seconds: (performance.now() - t0) / 1000
		};
	} finally {
		engine.destroy();
		device.destroy();
	}
}

(globalThis as unknown as { runEngineCommand: typeof run }).runEngineCommand = run;
(globalThis as unknown as { engineHarnessReady: boolean }).engineHarnessReady = true;
