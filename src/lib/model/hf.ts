/**
 * Hugging Face checkpoints: `config.json` + `model.safetensors`, or shards listed by
 * `model.safetensors.index.json`; F32, F16 or BF16 tensors with HF names.
 *
 * HF stores RMSNorm weights as `w` (the model computes `x · (1 + w)`); the engine wants the
 * multiplier, so this loader adds the 1 — once, here, and nowhere else.
 */
import { ModelFormatError, parseHfConfig, type Gemma2Config } from './config';
import { readJson, type FileProgress, type ModelFiles } from './files';
import { parseSafetensors, tensorToF32, type SafetensorsTensor } from './safetensors';
import {
	PROJECTIONS,
	quantizeQ4,
	type Gemma2LayerWeights,
	type Gemma2Weights,
	type Linear,
	type ProjectionName,
	projectionShape
} from './weights';

export type WeightsForm = 'f32' | 'q4';

export interface HfLoadOptions {
	/** 'f32' keeps full precision (default); 'q4' quantizes on load (group 32, f16 scales = q4f16_1). */
	weights?: WeightsForm;
	onProgress?: (p: FileProgress) => void;
}

export interface LoadedWeights {
	config: Gemma2Config;
	weights: Gemma2Weights;
	/** The form of the weights in memory: 'f32', 'q4f16_1' or 'q4f32_1'. */
	quantization: string;
}

/** The HF module path of a projection: self_attn for attention, mlp for the feed-forward. */
export function projectionModule(p: ProjectionName): 'self_attn' | 'mlp' {
	return p === 'gate_proj' || p === 'up_proj' || p === 'down_proj' ? 'mlp' : 'self_attn';
}

export const HF_NORMS = {
	inputNorm: 'input_layernorm',
	postAttnNorm: 'post_attention_layernorm',
	preFfnNorm: 'pre_feedforward_layernorm',
	postFfnNorm: 'post_feedforward_layernorm'
} as const;

/** Every tensor a Gemma-2 HF checkpoint must hold, with its shape. */
export function hfTensorShapes(c: Gemma2Config): Map<string, number[]> {
	const shapes = new Map<string, number[]>();
	shapes.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
	for (let i = 0; i < c.numLayers; i++) {
		for (const norm of Object.values(HF_NORMS))
			shapes.set(`model.layers.${i}.${norm}.weight`, [c.hiddenSize]);
		for (const p of PROJECTIONS)
			shapes.set(`model.layers.${i}.${projectionModule(p)}.${p}.weight`, projectionShape(c, p));
	}
	shapes.set('model.norm.weight', [c.hiddenSize]);
	return shapes;
}

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILE = 'model.safetensors';

/** Which file holds each tensor: the index's weight_map, or everything in model.safetensors. */
async function tensorFiles(files: ModelFiles, names: string[]): Promise<Map<string, string>> {
	const where = new Map<string, string>();
	if (await files.has(INDEX_FILE)) {
		const index = await readJson(files, INDEX_FILE);
		const map = index.weight_map as Record<string, unknown> | undefined;
		if (!map || typeof map !== 'object')
			throw new ModelFormatError(INDEX_FILE, 'weight_map', 'required key is missing');
		for (const name of names) {
			const file = map[name];
			if (file === undefined)
				throw new ModelFormatError(INDEX_FILE, name, 'tensor missing from weight_map');
			if (typeof file !== 'string')
				throw new ModelFormatError(
					INDEX_FILE,
					name,
					`shard name ${JSON.stringify(file)} is not a string`
				);
			where.set(name, file);
		}
	} else {
		if (!(await files.has(SINGLE_FILE)))
			throw new ModelFormatError(
				SINGLE_FILE,
				null,
				`file not found in ${files.describe} (and there is no ${INDEX_FILE})`
			);
		for (const name of names) where.set(name, SINGLE_FILE);
	}
	return where;
}

/** Load a Hugging Face Gemma-2 checkpoint into the engine's host weights. */
export async function loadHfWeights(
	files: ModelFiles,
	options: HfLoadOptions = {}
): Promise<LoadedWeights> {
	const form = options.weights ?? 'f32';
	const config = parseHfConfig(await readJson(files, 'config.json'), 'config.json');
	const shapes = hfTensorShapes(config);
	const where = await tensorFiles(files, [...shapes.keys()]);

	// Each tensor is converted (and quantized, for 'q4') as soon as its shard is read, so only one
	// shard and the converted weights are in memory at a time.
	const linears = new Map<string, Linear>();
	const norms = new Map<string, Float32Array>();
	const shards = [...new Set(where.values())];
	for (const shard of shards) {
		const { tensors } = parseSafetensors(await files.bytes(shard, options.onProgress), shard);
		for (const [name, file] of where) {
			if (file !== shard) continue;
			const t = tensors.get(name);
			if (!t) throw new ModelFormatError(shard, name, 'tensor missing');
			const shape = shapes.get(name)!;
			const data = readTensor(t, shard, name, shape);
			if (shape.length === 1) {
				// HF's norm weight w → the multiplier 1 + w (in f32, as HF computes it).
				for (let i = 0; i < data.length; i++) data[i] = 1 + data[i];
				norms.set(name, data);
			} else {
				const [rows, cols] = shape;
				linears.set(
					name,
					form === 'q4' ? quantizeQ4(data, rows, cols, 'f16') : { kind: 'f32', rows, cols, data }
				);
			}
		}
	}
	const linear = (name: string) => linears.get(name)!;
	const multiplier = (name: string) => norms.get(name)!;
	const layers: Gemma2LayerWeights[] = [];
	for (let i = 0; i < config.numLayers; i++) {
		const proj = {} as Record<ProjectionName, Linear>;
		for (const p of PROJECTIONS)
			proj[p] = linear(`model.layers.${i}.${projectionModule(p)}.${p}.weight`);
		layers.push({
			inputNorm: multiplier(`model.layers.${i}.${HF_NORMS.inputNorm}.weight`),
			postAttnNorm: multiplier(`model.layers.${i}.${HF_NORMS.postAttnNorm}.weight`),
			preFfnNorm: multiplier(`model.layers.${i}.${HF_NORMS.preFfnNorm}.weight`),
			postFfnNorm: multiplier(`model.layers.${i}.${HF_NORMS.postFfnNorm}.weight`),
			proj
		});
	}
	const weights: Gemma2Weights = {
		config,
		embed: linear('model.embed_tokens.weight'),
		layers,
		finalNorm: multiplier('model.norm.weight')
	};
	return { config, weights, quantization: form === 'q4' ? 'q4f16_1' : 'f32' };
}

function readTensor(
	t: SafetensorsTensor,
	file: string,
	name: string,
	shape: number[]
): Float32Array {
	if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16')
		throw new ModelFormatError(file, name, `wrong dtype ${t.dtype}: expected F32, F16 or BF16`);
	if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
		throw new ModelFormatError(
			file,
			name,
			`wrong shape [${t.shape.join(', ')}]: config.json says [${shape.join(', ')}]`
		);
	return tensorToF32(t, file, name);
}
