/**
 * MLC checkpoints (q4f16_1 / q4f32_1): `mlc-chat-config.json`, a manifest (`tensor-cache.json`,
 * or the older `ndarray-cache.json`) and `params_shard_*.bin`. Every quirk follows
 * docs/specs/weights-mlc.md:
 * - records are indexed by name (their order is not layer order); byteOffset is relative to the shard;
 * - `format: "f32-to-bf16"` means bf16 storage for dtype float32 records only;
 * - `int32` is accepted as a synonym of `uint32` (and `bfloat16` records are widened too);
 * - norm weights already hold the +1 (used as they are);
 * - fused qkv_proj (rows Q, K, V) and gate_up_proj (gate, up) are split per projection;
 * - the quantized embedding is also the LM head.
 */
import { ModelFormatError, parseMlcConfig, tensorShape } from './config';
import { readJson, type FileProgress, type ModelFiles } from './files';
import { HF_NORMS, type LoadedWeights } from './hf';
import {
	f16ToF32,
	sliceRows,
	type Gemma2LayerWeights,
	type Gemma2Weights,
	type Linear,
	type ProjectionName,
	type Q4Linear
} from './weights';

export const MLC_CONFIG_FILE = 'mlc-chat-config.json';
export const MLC_MANIFEST_FILES = ['tensor-cache.json', 'ndarray-cache.json'] as const;
export const MLC_QUANTIZATIONS = ['q4f16_1', 'q4f32_1'] as const;

export interface MlcLoadOptions {
	/** Check each shard against the manifest's md5sum (default true; sizes are always checked). */
	verifyMd5?: boolean;
	onProgress?: (p: FileProgress) => void;
}

export interface MlcRecord {
	name: string;
	shape: number[];
	dtype: 'uint32' | 'float16' | 'float32';
	/** True when a float32 record is stored as bf16 (format f32-to-bf16). */
	bf16Storage: boolean;
	nbytes: number;
	byteOffset: number;
	shard: string;
}

export interface MlcShard {
	dataPath: string;
	nbytes: number;
	md5sum?: string;
	records: MlcRecord[];
}

export interface MlcManifest {
	file: string;
	shards: MlcShard[];
	records: Map<string, MlcRecord>;
}

const DTYPE_BYTES = { uint32: 4, float16: 2, float32: 4 } as const;

/** Parse and check a tensor-cache.json / ndarray-cache.json; errors name the file and the record. */
export function parseMlcManifest(json: Record<string, unknown>, file: string): MlcManifest {
	const shardsJson = json.records;
	if (!Array.isArray(shardsJson))
		throw new ModelFormatError(file, 'records', 'required list is missing');
	const shards: MlcShard[] = [];
	const records = new Map<string, MlcRecord>();
	shardsJson.forEach((s: Record<string, unknown>, si) => {
		const where = `records[${si}]`;
		if (typeof s?.dataPath !== 'string')
			throw new ModelFormatError(file, `${where}.dataPath`, 'required string is missing');
		const dataPath = s.dataPath;
		if (!Number.isInteger(s.nbytes) || (s.nbytes as number) < 0)
			throw new ModelFormatError(
				file,
				`${dataPath}.nbytes`,
				`expected a byte count, got ${JSON.stringify(s.nbytes)}`
			);
		if (!Array.isArray(s.records))
			throw new ModelFormatError(file, `${dataPath}.records`, 'required list is missing');
		const shard: MlcShard = {
			dataPath,
			nbytes: s.nbytes as number,
			md5sum: typeof s.md5sum === 'string' ? s.md5sum : undefined,
			records: []
		};
		for (const r of s.records as Record<string, unknown>[]) {
			if (typeof r?.name !== 'string')
				throw new ModelFormatError(file, `${dataPath}.records`, 'a record has no name');
			const name = r.name;
			// int32 is an older name for the packed weights; bfloat16 records come from tvmjs's
			// tensor-cache-b16.json variant and are widened like f32-to-bf16 ones.
			const rawDtype =
				r.dtype === 'int32' ? 'uint32' : r.dtype === 'bfloat16' ? 'float32' : r.dtype;
			if (rawDtype !== 'uint32' && rawDtype !== 'float16' && rawDtype !== 'float32')
				throw new ModelFormatError(file, name, `unsupported dtype ${JSON.stringify(r.dtype)}`);
			const shape = tensorShape(file, name, r.shape);
			const bf16Storage =
				r.dtype === 'bfloat16' || (rawDtype === 'float32' && r.format === 'f32-to-bf16');
			const elementBytes = bf16Storage ? 2 : DTYPE_BYTES[rawDtype];
			const expected = shape.reduce((a, b) => a * b, 1) * elementBytes;
			if (r.nbytes !== expected)
				throw new ModelFormatError(
					file,
					name,
					`nbytes ${JSON.stringify(r.nbytes)} does not match shape [${shape.join(', ')}] × ${r.dtype}${bf16Storage ? ' (stored as bf16)' : ''} = ${expected}`
				);
			const byteOffset = r.byteOffset;
			if (
				!Number.isInteger(byteOffset) ||
				(byteOffset as number) < 0 ||
				(byteOffset as number) + expected > shard.nbytes
			)
				throw new ModelFormatError(
					file,
					name,
					`byteOffset ${JSON.stringify(byteOffset)} + ${expected} bytes is outside shard ${dataPath} (${shard.nbytes} bytes)`
				);
			if (records.has(name)) throw new ModelFormatError(file, name, 'record appears twice');
			const record: MlcRecord = {
				name,
				shape,
				dtype: rawDtype,
				bf16Storage,
				nbytes: expected,
				byteOffset: byteOffset as number,
				shard: dataPath
			};
			shard.records.push(record);
			records.set(name, record);
		}
		shards.push(shard);
	});
	return { file, shards, records };
}

/** The manifest file name of an MLC folder: tensor-cache.json, else ndarray-cache.json. */
export async function findMlcManifest(files: ModelFiles): Promise<string> {
	for (const name of MLC_MANIFEST_FILES) if (await files.has(name)) return name;
	throw new ModelFormatError(
		MLC_MANIFEST_FILES[0],
		null,
		`neither tensor-cache.json nor ndarray-cache.json found in ${files.describe}`
	);
}

type Decoded =
	| { kind: 'u32'; data: Uint32Array }
	| { kind: 'f16'; bits: Uint16Array }
	| { kind: 'f32'; data: Float32Array };

/**
 * The record as a typed array. Views share the shard's buffer when the offset is aligned (every
 * byte of a shard is a weight we keep, so nothing is held needlessly); otherwise a copy.
 */
function decodeRecord(shard: ArrayBuffer, r: MlcRecord): Decoded {
	const storedBytes = r.bf16Storage ? 2 : DTYPE_BYTES[r.dtype];
	const count = r.nbytes / storedBytes;
	const view = <T>(ctor: {
		new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
		new (buffer: ArrayBuffer): T;
	}): T =>
		r.byteOffset % storedBytes === 0
			? new ctor(shard, r.byteOffset, count)
			: new ctor(shard.slice(r.byteOffset, r.byteOffset + r.nbytes));
	if (r.dtype === 'uint32') return { kind: 'u32', data: view(Uint32Array) };
	if (r.dtype === 'float16') return { kind: 'f16', bits: view(Uint16Array) };
	if (!r.bf16Storage) return { kind: 'f32', data: view(Float32Array) };
	const bits = view(Uint16Array);
	const out = new Uint32Array(count);
	for (let i = 0; i < count; i++) out[i] = bits[i] << 16;
	return { kind: 'f32', data: new Float32Array(out.buffer) };
}

/** Load an MLC q4f16_1 / q4f32_1 Gemma-2 folder into the engine's host weights. */
export async function loadMlcWeights(
	files: ModelFiles,
	options: MlcLoadOptions = {}
): Promise<LoadedWeights> {
	const chatConfig = await readJson(files, MLC_CONFIG_FILE);
	const config = parseMlcConfig(chatConfig, MLC_CONFIG_FILE);
	const quantization = chatConfig.quantization;
	if (
		typeof quantization !== 'string' ||
		!(MLC_QUANTIZATIONS as readonly string[]).includes(quantization)
	)
		throw new ModelFormatError(
			MLC_CONFIG_FILE,
			'quantization',
			`${JSON.stringify(quantization)} is not supported (expected ${MLC_QUANTIZATIONS.join(' or ')})`
		);
	const manifestFile = await findMlcManifest(files);
	const manifest = parseMlcManifest(await readJson(files, manifestFile), manifestFile);

	// Every tensor we need, with the shape the config implies.
	const d = config.hiddenSize;
	const qkvRows = (config.numHeads + 2 * config.numKvHeads) * config.headDim;
	const wanted = new Map<string, { rows: number; cols: number }>();
	wanted.set('model.embed_tokens', { rows: config.vocabSize, cols: d });
	const normNames: string[] = ['model.norm.weight'];
	for (let i = 0; i < config.numLayers; i++) {
		const L = `model.layers.${i}`;
		wanted.set(`${L}.self_attn.qkv_proj`, { rows: qkvRows, cols: d });
		wanted.set(`${L}.self_attn.o_proj`, { rows: d, cols: config.numHeads * config.headDim });
		wanted.set(`${L}.mlp.gate_up_proj`, { rows: 2 * config.intermediateSize, cols: d });
		wanted.set(`${L}.mlp.down_proj`, { rows: d, cols: config.intermediateSize });
		for (const norm of Object.values(HF_NORMS)) normNames.push(`${L}.${norm}.weight`);
	}
	const expectShape = (name: string): number[] => {
		if (normNames.includes(name)) return [d];
		const base = name.replace(/\.(q_weight|q_scale)$/, '');
		const m = wanted.get(base)!;
		return name.endsWith('.q_weight') ? [m.rows, m.cols / 8] : [m.rows, m.cols / 32];
	};
	const needed: string[] = [...normNames];
	for (const base of wanted.keys()) needed.push(`${base}.q_weight`, `${base}.q_scale`);
	for (const [base, { cols }] of wanted)
		if (cols % 32 !== 0)
			throw new ModelFormatError(
				MLC_CONFIG_FILE,
				'model_config',
				`${base} has ${cols} inputs, not a multiple of the group size 32`
			);

	for (const name of needed) {
		const r = manifest.records.get(name);
		if (!r) throw new ModelFormatError(manifestFile, name, 'tensor missing');
		const shape = expectShape(name);
		if (r.shape.length !== shape.length || r.shape.some((s, i) => s !== shape[i]))
			throw new ModelFormatError(
				manifestFile,
				name,
				`wrong shape [${r.shape.join(', ')}]: ${MLC_CONFIG_FILE} says [${shape.join(', ')}]`
			);
		const isWeight = name.endsWith('.q_weight');
		if (isWeight ? r.dtype !== 'uint32' : r.dtype === 'uint32')
			throw new ModelFormatError(
				manifestFile,
				name,
				`wrong dtype ${r.dtype}: expected ${isWeight ? 'uint32 (or int32)' : 'float16 or float32'}`
			);
	}

	// Read the shards that hold what we need, one at a time, copying out our tensors.
	const decoded = new Map<string, Decoded>();
	const neededSet = new Set(needed);
	for (const shard of manifest.shards) {
		const ours = shard.records.filter((r) => neededSet.has(r.name));
		if (ours.length === 0) continue;
		const bytes = await files.bytes(shard.dataPath, options.onProgress, {
			size: shard.nbytes,
			md5: options.verifyMd5 === false ? undefined : shard.md5sum
		});
		for (const r of ours) decoded.set(r.name, decodeRecord(bytes, r));
	}

	const q4 = (base: string): Q4Linear => {
		const { rows, cols } = wanted.get(base)!;
		const qweight = decoded.get(`${base}.q_weight`)!;
		const scales = decoded.get(`${base}.q_scale`)!;
		if (qweight.kind !== 'u32') throw new Error('unreachable: q_weight dtype checked above');
		return {
			kind: 'q4',
			rows,
			cols,
			qweight: qweight.data,
			scales:
				scales.kind === 'f16'
					? { dtype: 'f16', bits: scales.bits }
					: { dtype: 'f32', data: (scales as { data: Float32Array }).data }
		};
	};
	// Norms already are multipliers (1 + w): used as stored, only widened to f32.
	const norm = (name: string): Float32Array => {
		const v = decoded.get(name)!;
		if (v.kind === 'f32') return v.data;
		if (v.kind === 'f16') return Float32Array.from(v.bits, f16ToF32);
		throw new Error('unreachable: norm dtype checked above');
	};

	const qDim = config.numHeads * config.headDim;
	const kvDim = config.numKvHeads * config.headDim;
	const I = config.intermediateSize;
	const layers: Gemma2LayerWeights[] = [];
	for (let i = 0; i < config.numLayers; i++) {
		const L = `model.layers.${i}`;
		const qkv = q4(`${L}.self_attn.qkv_proj`);
		const gateUp = q4(`${L}.mlp.gate_up_proj`);
		const proj: Record<ProjectionName, Linear> = {
			q_proj: sliceRows(qkv, 0, qDim),
			k_proj: sliceRows(qkv, qDim, kvDim),
			v_proj: sliceRows(qkv, qDim + kvDim, kvDim),
			o_proj: q4(`${L}.self_attn.o_proj`),
			gate_proj: sliceRows(gateUp, 0, I),
			up_proj: sliceRows(gateUp, I, I),
			down_proj: q4(`${L}.mlp.down_proj`)
		};
		layers.push({
			inputNorm: norm(`${L}.${HF_NORMS.inputNorm}.weight`),
			postAttnNorm: norm(`${L}.${HF_NORMS.postAttnNorm}.weight`),
			preFfnNorm: norm(`${L}.${HF_NORMS.preFfnNorm}.weight`),
			postFfnNorm: norm(`${L}.${HF_NORMS.postFfnNorm}.weight`),
			proj
		});
	}
	const weights: Gemma2Weights = {
		config,
		embed: q4('model.embed_tokens'),
		layers,
		finalNorm: norm('model.norm.weight')
	};
	return { config, weights, quantization };
}
