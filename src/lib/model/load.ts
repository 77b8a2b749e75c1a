/**
 * One entry point for every model source: find out whether a folder is a Hugging Face or an MLC
 * checkpoint and load it into the engine's host weights (see weights.ts for the conventions).
 */
import { ModelFormatError, type Gemma2Config } from './config';
import { readJson, type ExpectedFile, type FileProgress, type ModelFiles } from './files';
import { loadHfWeights, type WeightsForm } from './hf';
import {
	findMlcManifest,
	loadMlcWeights,
	MLC_CONFIG_FILE,
	MLC_MANIFEST_FILES,
	parseMlcManifest
} from './mlc';
import { linearRow, type Gemma2Weights, type Linear } from './weights';

export type ModelLayout = 'hf' | 'mlc';

export interface LoadModelOptions {
	/**
	 * The form of the weights in memory. HF checkpoints: 'f32' (default) or 'q4' (quantized on load,
	 * q4f16_1). MLC checkpoints: 'q4' (default, as stored) or 'f32' (dequantized, for exactness tests).
	 */
	weights?: WeightsForm;
	/** MLC only: check shards against the manifest's md5sum (default true; ~0.4 s per 100 MB). */
	verifyMd5?: boolean;
	onProgress?: (p: FileProgress) => void;
}

export interface LoadedModel {
	config: Gemma2Config;
	weights: Gemma2Weights;
	layout: ModelLayout;
	/** The form in memory: 'f32', 'q4f16_1' or 'q4f32_1'. */
	quantization: string;
}

/** 'mlc' for mlc-chat-config.json or an MLC manifest, 'hf' for config.json; an error otherwise. */
export async function detectLayout(files: ModelFiles): Promise<ModelLayout> {
	if (await files.has(MLC_CONFIG_FILE)) return 'mlc';
	for (const m of MLC_MANIFEST_FILES) if (await files.has(m)) return 'mlc';
	if (await files.has('config.json')) return 'hf';
	throw new ModelFormatError(
		files.describe,
		null,
		'not a model folder: neither config.json (Hugging Face) nor mlc-chat-config.json (MLC) found'
	);
}

export async function loadModel(
	files: ModelFiles,
	options: LoadModelOptions = {}
): Promise<LoadedModel> {
	const layout = await detectLayout(files);
	if (layout === 'hf') {
		const r = await loadHfWeights(files, {
			weights: options.weights,
			onProgress: options.onProgress
		});
		return { ...r, layout };
	}
	const r = await loadMlcWeights(files, {
		verifyMd5: options.verifyMd5,
		onProgress: options.onProgress
	});
	if (options.weights === 'f32')
		return { ...r, weights: dequantizeWeights(r.weights), layout, quantization: 'f32' };
	return { ...r, layout };
}

/** Every q4 linear of the model expanded to f32 (norms unchanged). */
export function dequantizeWeights(w: Gemma2Weights): Gemma2Weights {
	const f32 = (l: Linear): Linear => {
		if (l.kind === 'f32') return l;
		const data = new Float32Array(l.rows * l.cols);
		for (let n = 0; n < l.rows; n++) linearRow(l, n, data.subarray(n * l.cols, (n + 1) * l.cols));
		return { kind: 'f32', rows: l.rows, cols: l.cols, data };
	};
	return {
		config: w.config,
		embed: f32(w.embed),
		finalNorm: w.finalNorm,
		layers: w.layers.map((layer) => ({
			...layer,
			proj: Object.fromEntries(
				Object.entries(layer.proj).map(([k, v]) => [k, f32(v)])
			) as typeof layer.proj
		}))
	};
}

/** The tokenizer files the studio reads (tokenizer.model, sentencepiece's own file, is not needed). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * Every file the studio needs from a model folder, with the size and md5 where the folder's own
 * manifest gives them (MLC shards) — e.g. to download a hub model for offline use:
 * `await hub.prefetch(await modelFileList(hub))`. Reads the config and manifest to find out.
 */
export async function modelFileList(
	files: ModelFiles
): Promise<({ path: string } & ExpectedFile)[]> {
	const list: ({ path: string } & ExpectedFile)[] = [];
	if ((await detectLayout(files)) === 'mlc') {
		list.push({ path: MLC_CONFIG_FILE });
		const manifestFile = await findMlcManifest(files);
		list.push({ path: manifestFile });
		const manifest = parseMlcManifest(await readJson(files, manifestFile), manifestFile);
		for (const shard of manifest.shards)
			list.push({ path: shard.dataPath, size: shard.nbytes, md5: shard.md5sum });
	} else {
		list.push({ path: 'config.json' });
		const index = 'model.safetensors.index.json';
		if (await files.has(index)) {
			list.push({ path: index });
			const weightMap = (await readJson(files, index)).weight_map as Record<string, string>;
			for (const shard of new Set(Object.values(weightMap ?? {}))) list.push({ path: shard });
		} else list.push({ path: 'model.safetensors' });
	}
	for (const t of TOKENIZER_FILES) list.push({ path: t });
	return list;
}
