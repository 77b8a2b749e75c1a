/**
 * PEFT adapter files (docs/specs/peft-files.md): `adapter_config.json` written exactly as
 * PEFT writes it (json.dumps(indent=2, sort_keys=True), ASCII-escaped, Python float reprs, no
 * trailing newline, only PEFT's keys) and `adapter_model.safetensors` (F32, PEFT's tensor names),
 * plus a zip of the two; and import of PEFT folders/zips, strict where PEFT is lenient:
 * unknown or missing tensor names are errors (PEFT's strict=False would silently leave B = 0).
 */
import { FileFieldError, type Gemma2Config } from '../model/config';
import {
	parseSafetensors,
	tensorToF32,
	writeSafetensors,
	type SafetensorsTensorToWrite
} from '../model/safetensors';
import {
	ALL_PROJECTIONS,
	LORA_DEFAULTS,
	loraValueProblem,
	PEFT_DEFAULT_GEMMA2_TARGETS,
	type LoraConfig
} from './config';
import {
	modulePatternKey,
	resolveLoraModules,
	type LoraAdapter,
	type LoraModule,
	type ResolvedModule
} from './adapter';
import { readZip, writeZip } from './zip';
import { parseJsonText } from '../model/json';
import { checkModulePattern, PythonRegexError, pyPatternKeyMatches } from './module-regex';

import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, loraTensorName } from './tensor-names';

export { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE };

/** An adapter file the studio cannot use; names the file and, where there is one, the field/tensor. */
export class PeftFormatError extends FileFieldError {
	name = 'PeftFormatError';
}

// ---------------------------------------------------------------- Python-style JSON

/** A number Python holds as a float (written with a decimal point or exponent: 0.0, 1e-05). */
class PyFloat {
	constructor(readonly value: number) {}
}

/** Python's repr(float): shortest round-trip digits, fixed for 1e-4 ≤ |x| < 1e16, else d.ddde±XX. */
export function pythonFloatRepr(x: number): string {
	if (Number.isNaN(x)) return 'NaN';
	if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
	if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
	const [mant, expStr] = Math.abs(x).toExponential().split('e');
	const exp = Number(expStr);
	const digits = mant.replace('.', '');
	const sign = x < 0 ? '-' : '';
	if (exp >= -4 && exp < 16) {
		let s: string;
		if (exp >= digits.length - 1) s = digits + '0'.repeat(exp - digits.length + 1) + '.0';
		else if (exp >= 0) s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
		else s = '0.' + '0'.repeat(-exp - 1) + digits;
		return sign + s;
	}
	const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
	const e = Math.abs(exp).toString().padStart(2, '0');
	return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
}

/** json.dumps(value, indent=2, sort_keys=True) with ensure_ascii; ints as ints, PyFloat as floats. */
function pythonJson(value: unknown, indent = ''): string {
	if (value === null || value === undefined) return 'null';
	if (value instanceof PyFloat) return pythonFloatRepr(value.value);
	if (typeof value === 'number')
		return Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
	if (typeof value === 'boolean') return value ? 'true' : 'false';
	if (typeof value === 'string')
		return JSON.stringify(value).replace(
			/[\u0080-\uffff]/g,
			(ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')
		);
	const inner = indent + '  ';
	if (Array.isArray(value)) {
		if (value.length === 0) return '[]';
		return '[\n' + value.map((v) => inner + pythonJson(v, inner)).join(',\n') + '\n' + indent + ']';
	}
	const keys = Object.keys(value as object).sort();
	if (keys.length === 0) return '{}';
	return (
		'{\n' +
		keys
			.map(
				(k) =>
					inner + pythonJson(k) + ': ' + pythonJson((value as Record<string, unknown>)[k], inner)
			)
			.join(',\n') +
		'\n' +
		indent +
		'}'
	);
}

// ---------------------------------------------------------------- export

/** Does this config, applied to the model, give exactly these modules (names, ranks, alphas)? */
function configDescribes(
	c: Gemma2Config,
	lc: LoraConfig,
	modules: Map<string, LoraModule>
): boolean {
	let resolved: ResolvedModule[];
	try {
		resolved = resolveLoraModules(c, lc);
	} catch {
		return false;
	}
	if (resolved.length !== modules.size) return false;
	return resolved.every((r) => {
		const m = modules.get(r.name);
		return m !== undefined && m.r === r.r && m.alpha === r.alpha && m.scale === r.scale;
	});
}

function mode(values: number[]): number {
	const counts = new Map<number, number>();
	for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
	return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
}

/**
 * A LoraConfig that PEFT will resolve to exactly the adapter's modules: the adapter's own config
 * when it already does; otherwise derived from the modules — target_modules as a projection list
 * (+ layers_to_transform) when the adapted set is a full layers × projections grid, else a regex of
 * the module names; the most common rank/alpha as r/lora_alpha and per-module rank_pattern /
 * alpha_pattern entries (one escaped key per module, see modulePatternKey) for the rest.
 */
export function describeAdapter(c: Gemma2Config, adapter: LoraAdapter): LoraConfig {
	if (configDescribes(c, adapter.config, adapter.modules)) return adapter.config;
	const mods = [...adapter.modules.entries()];
	const rslora = adapter.config.use_rslora;
	const r = mode(mods.map(([, m]) => m.r));
	const alpha = mode(mods.map(([, m]) => m.alpha));
	const rank_pattern: Record<string, number> = {};
	const alpha_pattern: Record<string, number> = {};
	for (const [name, m] of mods) {
		if (m.r !== r) rank_pattern[modulePatternKey(name)] = m.r;
		if (m.alpha !== alpha) alpha_pattern[modulePatternKey(name)] = m.alpha;
	}
	const layers = [...new Set(mods.map(([, m]) => m.layer))].sort((a, b) => a - b);
	const projs = ALL_PROJECTIONS.filter((p) => mods.some(([, m]) => m.proj === p));
	const grid = layers.length * projs.length === mods.length;
	const lc: LoraConfig = {
		r,
		lora_alpha: alpha,
		lora_dropout: adapter.config.lora_dropout,
		target_modules: grid ? projs : mods.map(([name]) => name.replace(/\./g, '\\.')).join('|'),
		use_rslora: rslora,
		layers_to_transform: grid && layers.length < c.numLayers ? layers : null,
		rank_pattern,
		alpha_pattern
	};
	if (!configDescribes(c, lc, adapter.modules))
		throw new Error(
			'describeAdapter: cannot express this adapter as a PEFT LoraConfig (scale ≠ alpha/r?)'
		);
	return lc;
}

/** `adapter_config.json` text, byte for byte as PEFT's save_pretrained writes it. */
export function adapterConfigJson(
	c: Gemma2Config,
	adapter: LoraAdapter,
	baseModel: string
): string {
	const lc = describeAdapter(c, adapter);
	const obj = {
		alpha_pattern: lc.alpha_pattern,
		base_model_name_or_path: baseModel,
		bias: 'none',
		fan_in_fan_out: false,
		inference_mode: true, // PEFT sets it while saving
		init_lora_weights: true,
		layers_pattern: null,
		layers_to_transform: lc.layers_to_transform,
		lora_alpha: lc.lora_alpha,
		lora_dropout: new PyFloat(lc.lora_dropout),
		modules_to_save: null,
		peft_type: 'LORA',
		r: lc.r,
		rank_pattern: lc.rank_pattern,
		revision: null,
		// PEFT saves the resolved list (its gemma2 default, or the expansion of "all-linear")
		target_modules:
			lc.target_modules === null
				? [...PEFT_DEFAULT_GEMMA2_TARGETS]
				: lc.target_modules === 'all-linear'
					? [...ALL_PROJECTIONS]
					: lc.target_modules,
		task_type: 'CAUSAL_LM',
		use_dora: false,
		use_rslora: lc.use_rslora
	};
	return pythonJson(obj);
}

/** `adapter_model.safetensors` bytes: F32 A [r, in] and B [out, r] per module, PEFT names. */
export function adapterSafetensors(
	adapter: LoraAdapter,
	metadata: Record<string, string> = {}
): Uint8Array {
	const tensors: SafetensorsTensorToWrite[] = [];
	for (const m of adapter.modules.values()) {
		tensors.push({
			name: loraTensorName(m.layer, m.proj, 'A'),
			dtype: 'F32',
			shape: [m.r, m.in],
			data: m.A
		});
		tensors.push({
			name: loraTensorName(m.layer, m.proj, 'B'),
			dtype: 'F32',
			shape: [m.out, m.r],
			data: m.B
		});
	}
	for (const [k, v] of Object.entries(metadata))
		if (typeof v !== 'string') throw new Error(`safetensors metadata ${k} must be a string`);
	return writeSafetensors(tensors, metadata);
}

export interface PeftExportOptions {
	/** base_model_name_or_path, e.g. "google/gemma-2-2b-jpn-it". */
	baseModel: string;
	/** Run information for the safetensors `__metadata__` (string → string). */
	metadata?: Record<string, string>;
	/** Zip entry timestamps (default: now). */
	modified?: Date;
}

export function exportPeftFiles(
	c: Gemma2Config,
	adapter: LoraAdapter,
	opts: PeftExportOptions
): { [ADAPTER_CONFIG_FILE]: Uint8Array; [ADAPTER_WEIGHTS_FILE]: Uint8Array } {
	return {
		[ADAPTER_CONFIG_FILE]: new TextEncoder().encode(adapterConfigJson(c, adapter, opts.baseModel)),
		[ADAPTER_WEIGHTS_FILE]: adapterSafetensors(adapter, opts.metadata)
	};
}

/** The two files in one STORE zip (unzips to what `PeftModel.from_pretrained(dir)` expects). */
export function exportPeftZip(
	c: Gemma2Config,
	adapter: LoraAdapter,
	opts: PeftExportOptions
): Uint8Array {
	const files = exportPeftFiles(c, adapter, opts);
	return writeZip(
		[
			{ name: ADAPTER_CONFIG_FILE, data: files[ADAPTER_CONFIG_FILE] },
			{ name: ADAPTER_WEIGHTS_FILE, data: files[ADAPTER_WEIGHTS_FILE] }
		],
		opts.modified
	);
}

// ---------------------------------------------------------------- import

export interface ImportedAdapter {
	adapter: LoraAdapter;
	baseModel: string | null;
	/** The safetensors `__metadata__` (format: "pt" included). */
	metadata: Record<string, string>;
	warnings: string[];
}

type Json = Record<string, unknown>;

/** Is a config value "unset" (PEFT's None, empty list or dict)? */
function unset(v: unknown): boolean {
	return (
		v === undefined ||
		v === null ||
		v === false ||
		(Array.isArray(v) && v.length === 0) ||
		(typeof v === 'object' && v !== null && Object.keys(v).length === 0)
	);
}

/**
 * Validate a PEFT adapter_config.json and turn it into the LoraConfig it means. Refuses what the
 * studio cannot apply (DoRA, biases, modules_to_save, non-LoRA types, fan_in_fan_out, …).
 */
export function parseAdapterConfig(
	text: string,
	file = ADAPTER_CONFIG_FILE
): {
	lora: LoraConfig & { exclude_modules: string[] | string | null };
	baseModel: string | null;
	warnings: string[];
} {
	let j: Json;
	try {
		j = parseJsonText(text) as Json;
	} catch (e) {
		throw new PeftFormatError(file, null, (e as Error).message);
	}
	if (!j || typeof j !== 'object' || Array.isArray(j))
		throw new PeftFormatError(file, null, 'expected a JSON object');
	const warnings: string[] = [];
	const fail = (field: string, msg: string): never => {
		throw new PeftFormatError(file, field, `${JSON.stringify(j[field])}: ${msg}`);
	};
	if (j.peft_type === undefined)
		throw new PeftFormatError(file, 'peft_type', 'required key is missing');
	if (j.peft_type !== 'LORA')
		fail('peft_type', 'only LoRA adapters can be used (not other PEFT methods)');
	if (j.use_dora === true) fail('use_dora', 'DoRA adapters are not supported');
	if (j.bias !== undefined && j.bias !== 'none')
		fail('bias', 'only bias "none" is supported (trained biases cannot be applied)');
	if (!unset(j.modules_to_save))
		fail('modules_to_save', 'fully trained extra modules are not supported');
	if (j.fan_in_fan_out === true)
		fail('fan_in_fan_out', 'transposed (Conv1D-style) weights are not supported');
	if (!unset(j.layer_replication)) fail('layer_replication', 'layer replication is not supported');
	if (j.lora_bias === true) fail('lora_bias', 'LoRA biases are not supported');
	if (!unset(j.target_parameters))
		fail('target_parameters', 'parameter targeting is not supported');
	if (!unset(j.trainable_token_indices))
		fail('trainable_token_indices', 'trainable tokens are not supported');
	if (!unset(j.alora_invocation_tokens))
		fail('alora_invocation_tokens', 'activated LoRA is not supported');
	if (j.use_qalora === true) fail('use_qalora', 'QA-LoRA is not supported');
	// These initialisations rewrite the BASE weights (W − B A, or a quantized residual); the saved
	// A/B only make sense on that modified base unless PEFT converted them at save time.
	if (
		typeof j.init_lora_weights === 'string' &&
		/^(pissa|olora|loftq|corda)/i.test(j.init_lora_weights)
	)
		fail(
			'init_lora_weights',
			'this initialisation changes the base weights; save the adapter with path_initial_model_for_weight_conversion (PEFT) to get a plain LoRA'
		);
	const lp = j.layers_pattern;
	if (!(
		lp === undefined ||
		lp === null ||
		lp === 'layers' ||
		(Array.isArray(lp) && lp.includes('layers'))
	))
		fail('layers_pattern', 'Gemma-2 layers are named "layers"');
	if (j.task_type !== undefined && j.task_type !== null && j.task_type !== 'CAUSAL_LM')
		warnings.push(`task_type ${JSON.stringify(j.task_type)}: loaded as a causal-LM adapter`);

	const lora: LoraConfig & { exclude_modules: string[] | string | null } = {
		...LORA_DEFAULTS,
		rank_pattern: {},
		alpha_pattern: {},
		exclude_modules: null
	};
	const loraValue = (k: string, kind: 'r' | 'lora_alpha' | 'lora_dropout', v: unknown) => {
		const problem = loraValueProblem(kind, v);
		if (problem) throw new PeftFormatError(file, k, `${JSON.stringify(v)}: ${problem}`);
		return v as number;
	};
	if (j.r !== undefined) lora.r = loraValue('r', 'r', j.r);
	if (j.lora_alpha !== undefined)
		lora.lora_alpha = loraValue('lora_alpha', 'lora_alpha', j.lora_alpha);
	if (j.lora_dropout !== undefined && j.lora_dropout !== null)
		lora.lora_dropout = loraValue('lora_dropout', 'lora_dropout', j.lora_dropout);
	if (j.use_rslora !== undefined) {
		if (typeof j.use_rslora !== 'boolean') fail('use_rslora', 'must be true or false');
		lora.use_rslora = j.use_rslora as boolean;
	}
	const checkPattern = (k: string, pattern: string, key = false) => {
		try {
			if (key) pyPatternKeyMatches(pattern, '');
			else checkModulePattern(pattern);
		} catch (e) {
			if (!(e instanceof PythonRegexError)) throw e;
			throw new PeftFormatError(
				file,
				k,
				`${key ? 'key ' : ''}${JSON.stringify(pattern.slice(0, 200))} is not a usable Python regular expression: ${e.message}`
			);
		}
	};
	const modulesSpec = (k: string): string[] | string | null => {
		const v = j[k];
		if (v === undefined || v === null) return null;
		if (typeof v === 'string') {
			checkPattern(k, v);
			return v;
		}
		if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
		return fail(k, 'must be a list of module names or a regex string');
	};
	lora.target_modules = modulesSpec('target_modules');
	lora.exclude_modules = modulesSpec('exclude_modules');
	const ltt = j.layers_to_transform;
	if (typeof ltt === 'number' && Number.isInteger(ltt) && ltt >= 0)
		lora.layers_to_transform = [ltt];
	else if (
		Array.isArray(ltt) &&
		ltt.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)
	)
		lora.layers_to_transform = ltt as number[];
	else if (ltt !== undefined && ltt !== null)
		fail('layers_to_transform', 'must be a layer index, a list of them, or null');
	for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
		const v = j[k];
		if (v === undefined || v === null) continue;
		if (typeof v !== 'object' || Array.isArray(v)) fail(k, 'must be an object of pattern → number');
		for (const [p, x] of Object.entries(v as Json)) {
			checkPattern(k, p, true);
			lora[k][p] = loraValue(`${k}.${p}`, k === 'rank_pattern' ? 'r' : 'lora_alpha', x);
		}
	}
	const baseModel =
		typeof j.base_model_name_or_path === 'string' ? j.base_model_name_or_path : null;
	return { lora, baseModel, warnings };
}

/**
 * Import a PEFT adapter from its two files' contents. Every tensor the config implies must be in
 * the file with shape A [r, in] / B [out, r] and dtype F32/F16/BF16; any other tensor name is an
 * error (PEFT would ignore it silently, and the adapter would do nothing).
 */
export function importPeftAdapter(
	c: Gemma2Config,
	configText: string,
	safetensors: Uint8Array,
	files = { config: ADAPTER_CONFIG_FILE, weights: ADAPTER_WEIGHTS_FILE }
): ImportedAdapter {
	const { lora, baseModel, warnings } = parseAdapterConfig(configText, files.config);
	let resolved: ResolvedModule[];
	try {
		resolved = resolveLoraModules(c, lora);
	} catch (e) {
		throw new PeftFormatError(files.config, 'target_modules', (e as Error).message);
	}
	const st = parseSafetensors(safetensors, files.weights);
	const expected = new Map<string, { m: ResolvedModule; which: 'A' | 'B' }>();
	for (const m of resolved)
		for (const which of ['A', 'B'] as const)
			expected.set(loraTensorName(m.layer, m.proj, which), { m, which });
	for (const name of st.tensors.keys())
		if (!expected.has(name))
			throw new PeftFormatError(
				files.weights,
				name,
				'unknown tensor name: not a LoRA tensor the config implies for this model (PEFT would silently ignore it and the adapter would do nothing there)'
			);
	const modules = new Map<string, LoraModule>();
	for (const m of resolved) {
		const get = (which: 'A' | 'B', shape: [number, number]) => {
			const name = loraTensorName(m.layer, m.proj, which);
			const t = st.tensors.get(name);
			if (!t)
				throw new PeftFormatError(files.weights, name, `missing (the config adapts ${m.name})`);
			if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16')
				throw new PeftFormatError(
					files.weights,
					name,
					`dtype ${t.dtype} is not supported (F32, F16, BF16)`
				);
			if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1])
				throw new PeftFormatError(
					files.weights,
					name,
					`shape [${t.shape.join(', ')}] ≠ expected [${shape.join(', ')}] (rank ${m.r}, ${m.name} is ${m.out}×${m.in})`
				);
			return checkFinite(tensorToF32(t, files.weights, name), files.weights, name);
		};
		const A = get('A', [m.r, m.in]);
		const B = get('B', [m.out, m.r]);
		checkUpdateBound(m, A, B, files.weights);
		modules.set(m.name, { ...m, A, B });
	}
	const { exclude_modules, ...config } = lora;
	void exclude_modules;
	return { adapter: { config, modules }, baseModel, metadata: st.metadata, warnings };
}

/**
 * The largest |ΔW| an adapter's update may reach, bounded by scale · r · max|B| · max|A|: base
 * weights are O(0.1), a trained LoRA update O(0.01 … 1). Far above any real adapter, far below
 * where f32 sums overflow to Infinity.
 */
export const MAX_LORA_UPDATE = 1e4;

/** Refuses NaN, ±Infinity (an F16 that overflowed reads as Infinity), naming the element. */
function checkFinite(values: Float32Array, file: string, tensor: string): Float32Array {
	for (let i = 0; i < values.length; i++)
		if (!Number.isFinite(values[i]))
			throw new PeftFormatError(
				file,
				tensor,
				`element ${i} is ${values[i]}: the adapter holds values that are not finite numbers`
			);
	return values;
}

function maxAbs(values: Float32Array): number {
	let m = 0;
	for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
	return m;
}

/** Refuses an adapter whose update could overflow (3e38 in B, or finite values times a huge scale). */
function checkUpdateBound(m: ResolvedModule, A: Float32Array, B: Float32Array, file: string) {
	const bound = m.scale * m.r * maxAbs(A) * maxAbs(B);
	if (!(bound <= MAX_LORA_UPDATE))
		throw new PeftFormatError(
			file,
			loraTensorName(m.layer, m.proj, 'B'),
			`the update of ${m.name} (scale ${m.scale} · r ${m.r} · max|A| ${maxAbs(A)} · max|B| ${maxAbs(B)}) could reach ${bound}, over the limit of ${MAX_LORA_UPDATE}`
		);
}

/** Import from a folder's files (name → bytes; paths may include directories). */
export function importPeftFolder(c: Gemma2Config, files: Map<string, Uint8Array>): ImportedAdapter {
	const find = (base: string) => {
		const hits = [...files.keys()].filter(
			(k) => !k.startsWith('__MACOSX/') && (k === base || k.endsWith('/' + base))
		);
		if (hits.length > 1)
			throw new PeftFormatError(
				base,
				null,
				`found ${hits.length} copies (${hits.join(', ')}); expected one adapter`
			);
		return hits[0];
	};
	const cfg = find(ADAPTER_CONFIG_FILE);
	if (!cfg) throw new PeftFormatError(ADAPTER_CONFIG_FILE, null, 'missing');
	const weights = find(ADAPTER_WEIGHTS_FILE);
	if (!weights) {
		if (find('adapter_model.bin'))
			throw new PeftFormatError(
				'adapter_model.bin',
				null,
				'pickle weights cannot be read; save with safe_serialization=True'
			);
		throw new PeftFormatError(ADAPTER_WEIGHTS_FILE, null, 'missing');
	}
	return importPeftAdapter(c, new TextDecoder().decode(files.get(cfg)!), files.get(weights)!, {
		config: cfg,
		weights
	});
}

/** Import from a zip of a PEFT folder (STORE or DEFLATE), its bytes or a stream of them (size-capped, zip.ts). */
export async function importPeftZip(
	c: Gemma2Config,
	zip: Uint8Array | ReadableStream<Uint8Array>
): Promise<ImportedAdapter> {
	const entries = await readZip(zip);
	return importPeftFolder(c, new Map(entries.map((e) => [e.name, e.data])));
}
