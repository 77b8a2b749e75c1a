/**
 * A PEFT LoRA adapter as a GGUF LoRA file for llama.cpp / Ollama / LM Studio, written as llama.cpp's
 * `convert_lora_to_gguf.py --outtype f32|f16` writes one for Gemma-2 (docs/GGUF-LORA.md):
 *
 * - KV pairs, in its order: general.architecture = "gemma2", general.type = "adapter",
 *   adapter.type = "lora", the naming keys it derives from the adapter folder's name (gguf-name.ts),
 *   adapter.lora.alpha (FLOAT32, the config's lora_alpha), general.quantization_version = 2 (UINT32).
 *   No general.alignment (the default 32 applies) and no general.file_type (its LoRA writer skips it).
 * - Tensors, for each adapted module in the order its tensors' data appear in
 *   adapter_model.safetensors (the order safetensors' load_file yields them):
 *   `blk.{i}.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down}.weight.lora_a` = PEFT's
 *   lora_A [r, in] and `….lora_b` = lora_B [out, r], the same row-major bytes (ggml ne = [in, r] and
 *   [r, out]); F32, or F16 (round to nearest even, as numpy's astype) with --outtype f16. 1-D and
 *   `_norm` tensors would always be F32, but a Gemma-2 adapter of the studio never has any.
 *
 * The scale. llama.cpp multiplies every pair by alpha / r, with the file's one alpha and the pair's
 * own rank r (lora_b's ne[0]); PEFT, and the studio, use s = alpha_m / r_m, or alpha_m / √r_m with
 * use_rslora, with alpha_m and r_m after alpha_pattern / rank_pattern. The converter copies B as it
 * is, so such adapters would run in llama.cpp with the wrong strength. We fold the difference into
 * B: lora_b = B · s_m / (lora_alpha / r_m), computed in float64 and rounded once to f32 (then to f16
 * for --dtype f16), so llama.cpp's (lora_alpha / r_m) · lora_b · lora_a is exactly our s_m · B · A up
 * to that rounding. For a plain adapter (no rsLoRA, no patterns) the factor is exactly 1 and the
 * file is byte for byte the converter's.
 *
 * Refused with a clear error: what the studio's PEFT import refuses (DoRA, biases, modules_to_save,
 * other PEFT types, …) and any tensor that is not a LoRA pair of one of the seven Gemma-2 projections
 * (llama.cpp's Gemma-2 LoRA cannot adapt anything else the way PEFT does).
 */
import { parseSafetensors, tensorToF32 } from '../model/safetensors';
import { f32ToF16 } from '../model/weights';
import type { ProjectionName } from '../model/weights';
import { loraScale, patternKeyFor, type LoraAdapter, type LoraModule } from '../lora/adapter';
import { loraModuleName } from '../lora/tensor-names';
import {
	ADAPTER_CONFIG_FILE,
	ADAPTER_WEIGHTS_FILE,
	parseAdapterConfig,
	PeftFormatError
} from '../lora/peft';
import { writeGguf, type GgufKv, type GgufTensor } from './gguf';
import { folderNameKeys } from './gguf-name';

export type GgufDtype = 'f32' | 'f16';

/** llama.cpp's tensor names for the Gemma-2 projections (gguf-py TensorNameMap). */
export const GGUF_PROJECTION_NAMES: Record<ProjectionName, string> = {
	q_proj: 'attn_q',
	k_proj: 'attn_k',
	v_proj: 'attn_v',
	o_proj: 'attn_output',
	gate_proj: 'ffn_gate',
	up_proj: 'ffn_up',
	down_proj: 'ffn_down'
};

/** GGML_QUANT_VERSION, written by every converter as general.quantization_version. */
export const GGML_QUANT_VERSION = 2;

/** An adapter that cannot become a GGUF LoRA; names the file and field or tensor. */
export class GgufExportError extends Error {
	constructor(
		readonly file: string,
		readonly field: string | null,
		message: string
	) {
		super(`cannot export to GGUF: ${file}${field ? ` (${field})` : ''}: ${message}`);
		this.name = 'GgufExportError';
	}
}

export interface GgufLoraOptions {
	dtype: GgufDtype;
	/**
	 * The adapter folder's name (an exported zip's name without .zip): convert_lora_to_gguf.py
	 * derives general.name (and basename, finetune, version, size label) from it.
	 */
	folderName: string;
}

/** `blk.{layer}.{attn_q|…}.weight` — the base tensor llama.cpp adds the pair to. */
export function ggufBaseTensorName(layer: number, proj: ProjectionName): string {
	return `blk.${layer}.${GGUF_PROJECTION_NAMES[proj]}.weight`;
}

/** The factor folded into B: s_m / (lora_alpha / r_m) (1 for a plain adapter). */
export function ggufBFactor(m: Pick<LoraModule, 'scale' | 'r'>, loraAlpha: number): number {
	return m.scale / (loraAlpha / m.r);
}

function tensorData(values: Float32Array, dtype: GgufDtype): Pick<GgufTensor, 'type' | 'data'> {
	if (dtype === 'f32') return { type: 'F32', data: values };
	const bits = new Uint16Array(values.length);
	for (let i = 0; i < values.length; i++) bits[i] = f32ToF16(values[i]);
	return { type: 'F16', data: bits };
}

/** The GGUF LoRA file of an adapter; its modules' order is the tensor order. */
export function ggufLoraFile(adapter: LoraAdapter, opts: GgufLoraOptions): Uint8Array {
	const alpha = adapter.config.lora_alpha;
	if (!(alpha > 0))
		throw new GgufExportError(ADAPTER_CONFIG_FILE, 'lora_alpha', `${alpha} must be > 0`);
	const tensors: GgufTensor[] = [];
	let totalParams = 0;
	for (const m of adapter.modules.values()) {
		if (!(m.proj in GGUF_PROJECTION_NAMES))
			throw new GgufExportError(
				ADAPTER_WEIGHTS_FILE,
				m.name,
				'llama.cpp can only adapt the seven Gemma-2 projections'
			);
		const k = ggufBFactor(m, alpha);
		const B = k === 1 ? m.B : m.B.map((b) => b * k);
		const base = ggufBaseTensorName(m.layer, m.proj);
		tensors.push({ name: `${base}.lora_a`, shape: [m.r, m.in], ...tensorData(m.A, opts.dtype) });
		tensors.push({ name: `${base}.lora_b`, shape: [m.out, m.r], ...tensorData(B, opts.dtype) });
		totalParams += m.out * m.in;
	}
	if (tensors.length === 0)
		throw new GgufExportError(ADAPTER_WEIGHTS_FILE, null, 'the adapter has no LoRA tensors');
	const kv: GgufKv[] = [
		{ key: 'general.architecture', type: 'STRING', value: 'gemma2' },
		{ key: 'general.type', type: 'STRING', value: 'adapter' },
		{ key: 'adapter.type', type: 'STRING', value: 'lora' },
		// gguf-py counts a LoRA's parameters as the full matrices, negated ("not exact")
		...folderNameKeys(opts.folderName, -totalParams).map(([key, value]): GgufKv => ({
			key,
			type: 'STRING',
			value
		})),
		{ key: 'adapter.lora.alpha', type: 'FLOAT32', value: alpha },
		{ key: 'general.quantization_version', type: 'UINT32', value: GGML_QUANT_VERSION }
	];
	return writeGguf(kv, tensors);
}

const PEFT_TENSOR =
	/^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)\.weight$/;

/**
 * A PEFT adapter's two files as the converter sees them: every tensor must be a lora_A/lora_B of
 * one of the seven projections (anything else is refused, naming it), both halves present, shapes
 * A [r, in] / B [out, r] with r as the config's rank_pattern gives it; alpha per module from
 * alpha_pattern. Modules come in the order of their tensors' data in the file. No base model config
 * is needed (llama.cpp checks the shapes against the base model when it loads the file).
 */
export function readPeftForGguf(
	configText: string,
	safetensors: Uint8Array,
	files = { config: ADAPTER_CONFIG_FILE, weights: ADAPTER_WEIGHTS_FILE }
): LoraAdapter {
	let parsed: ReturnType<typeof parseAdapterConfig>;
	let st: ReturnType<typeof parseSafetensors>;
	try {
		parsed = parseAdapterConfig(configText, files.config);
		st = parseSafetensors(safetensors, files.weights);
	} catch (e) {
		if (e instanceof PeftFormatError) throw new GgufExportError(e.file, e.field, e.message);
		throw new GgufExportError(files.weights, null, (e as Error).message);
	}
	const { lora } = parsed;
	const fail = (name: string, msg: string): never => {
		throw new GgufExportError(files.weights, name, msg);
	};
	// by data offset: the views' byteOffset into the file buffer
	const names = [...st.tensors.keys()].sort(
		(a, b) => st.tensors.get(a)!.bytes.byteOffset - st.tensors.get(b)!.bytes.byteOffset
	);
	const pairs = new Map<string, { layer: number; proj: ProjectionName; A?: string; B?: string }>();
	for (const name of names) {
		const m = PEFT_TENSOR.exec(name);
		if (!m)
			fail(
				name,
				'not a LoRA tensor of a Gemma-2 projection (q/k/v/o/gate/up/down_proj); llama.cpp cannot apply it as PEFT does'
			);
		const [, layer, , proj, which] = m!;
		const key = loraModuleName(Number(layer), proj as ProjectionName);
		const pair = pairs.get(key) ?? { layer: Number(layer), proj: proj as ProjectionName };
		pair[which as 'A' | 'B'] = name;
		pairs.set(key, pair);
	}
	const modules = new Map<string, LoraModule>();
	for (const [name, p] of pairs) {
		if (!p.A || !p.B) fail(p.A ?? p.B!, `its lora_${p.A ? 'B' : 'A'} half is missing`);
		const ta = st.tensors.get(p.A!)!;
		const tb = st.tensors.get(p.B!)!;
		if (ta.shape.length !== 2 || tb.shape.length !== 2 || ta.shape[0] !== tb.shape[1])
			fail(
				p.A!,
				`shapes A [${ta.shape.join(', ')}] and B [${tb.shape.join(', ')}] are not [r, in] and [out, r]`
			);
		const [r, inF] = ta.shape;
		const rKey = patternKeyFor(lora.rank_pattern, name);
		const aKey = patternKeyFor(lora.alpha_pattern, name);
		const rConfig = rKey === undefined ? lora.r : lora.rank_pattern[rKey];
		if (r !== rConfig)
			fail(p.A!, `rank ${r} ≠ ${rConfig} from ${ADAPTER_CONFIG_FILE} (r / rank_pattern)`);
		const alpha = aKey === undefined ? lora.lora_alpha : lora.alpha_pattern[aKey];
		const toF32 = (t: typeof ta, n: string) => {
			try {
				return tensorToF32(t, files.weights, n);
			} catch (e) {
				return fail(n, (e as Error).message);
			}
		};
		modules.set(name, {
			name,
			layer: p.layer,
			proj: p.proj,
			r,
			alpha,
			scale: loraScale(alpha, r, lora.use_rslora),
			in: inF,
			out: tb.shape[0],
			A: toF32(ta, p.A!),
			B: toF32(tb, p.B!)
		});
	}
	const { exclude_modules, ...config } = lora;
	void exclude_modules;
	return { config, modules };
}

/** From a PEFT folder's files (name → bytes; paths may include folders, as in a zip). */
export function readPeftFilesForGguf(files: Map<string, Uint8Array>): LoraAdapter {
	const find = (base: string) => {
		const hits = [...files.keys()].filter(
			(k) => !k.startsWith('__MACOSX/') && (k === base || k.endsWith('/' + base))
		);
		if (hits.length !== 1)
			throw new GgufExportError(
				base,
				null,
				hits.length ? `found ${hits.length} copies; expected one adapter` : 'missing'
			);
		return hits[0];
	};
	const config = find(ADAPTER_CONFIG_FILE);
	const weights = find(ADAPTER_WEIGHTS_FILE);
	return readPeftForGguf(new TextDecoder().decode(files.get(config)!), files.get(weights)!, {
		config,
		weights
	});
}
