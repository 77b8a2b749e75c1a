/**
 * A LoRA adapter on the host: which modules are adapted, their ranks and scales, and the A/B
 * factors — under PEFT's names, so export (peft.ts), the reference backward and the GPU trainer
 * all speak of the same tensors.
 *
 * Per adapted module: y = W x + scale · B (A x), A [r, in], B [out, r],
 * scale = lora_alpha / r (or lora_alpha / sqrt(r) with use_rslora).
 * Module names are those of `Gemma2ForCausalLM.named_modules()` (`model.layers.3.mlp.up_proj`);
 * tensor names are PEFT's saved names (`base_model.model.` + module + `.lora_A.weight`).
 */
import type { Gemma2Config } from '../model/config';
import type { ProjectionName } from '../model/weights';
import { mulberry32 } from '../random';
import { projectionShape } from '../model/weights';
import { loraModuleName, loraTensorName, type LoraModuleParams } from './tensor-names';
import { ALL_PROJECTIONS, PEFT_DEFAULT_GEMMA2_TARGETS, type LoraConfig } from './config';
import { pyFullmatch, pyPatternKeyMatches } from './module-regex';

export interface LoraModule extends LoraModuleParams {
	/** `model.layers.{i}.{self_attn|mlp}.{proj}` (also its key in LoraAdapter.modules). */
	name: string;
	/** lora_alpha of this module (after alpha_pattern); scale = alpha / r or alpha / sqrt(r). */
	alpha: number;
	in: number;
	out: number;
	/** [r, in] row-major */
	A: Float32Array;
	/** [out, r] row-major */
	B: Float32Array;
}

export interface LoraAdapter {
	/** The configuration the adapter was built from (for a mix: a description, see mixAdapters). */
	config: LoraConfig;
	/** Module name (`model.layers.{i}.{self_attn|mlp}.{proj}`) → module, in layer then projection order. */
	modules: Map<string, LoraModule>;
}

/** LoRA scaling as PEFT's `update_layer`: alpha / sqrt(r) with rslora, else alpha / r. */
export function loraScale(alpha: number, r: number, rslora: boolean): number {
	return rslora ? alpha / Math.sqrt(r) : alpha / r;
}

/**
 * PEFT's `check_target_module_exists` for one module name (patterns run in linear time, module-regex.ts):
 * - a string is a regex that must match the WHOLE name (re.fullmatch);
 * - a list matches when the name equals an entry or ends with "." + entry.
 */
export function matchesTargetModules(name: string, targets: string[] | string): boolean {
	if (typeof targets === 'string') return pyFullmatch(targets, name);
	return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

/**
 * PEFT's `get_pattern_key` (≥ 0.14): the first pattern key p with re.match(`(.*\.)?(p)$`, name),
 * i.e. p matches a dot-separated suffix of the module name (or all of it). undefined if none.
 * (PEFT < 0.14 used `.*\.{p}$`: the same except that p may not match the whole name.)
 */
export function patternKeyFor(patterns: Record<string, number>, name: string): string | undefined {
	for (const key of Object.keys(patterns)) if (pyPatternKeyMatches(key, name)) return key;
	return undefined;
}

/**
 * The rank_pattern / alpha_pattern key we write for one module: `layers\.3\.mlp\.up_proj`.
 * Dots escaped (keys are regexes) and without the leading `model.`, because PEFT < 0.14 matched
 * keys with `.*\.{key}$` (a dot must precede the key), PEFT ≥ 0.14 with `(.*\.)?({key})$`; this
 * form matches the one module under both.
 */
export function modulePatternKey(name: string): string {
	return name.replace(/^model\./, '').replace(/\./g, '\\.');
}

/** Modules of Gemma2ForCausalLM that LoRA could name but the studio cannot adapt. */
function unsupportedModuleNames(c: Gemma2Config): string[] {
	const out = ['lm_head', 'model.embed_tokens', 'model.norm'];
	for (let L = 0; L < c.numLayers; L++)
		for (const n of [
			'input_layernorm',
			'post_attention_layernorm',
			'pre_feedforward_layernorm',
			'post_feedforward_layernorm'
		])
			out.push(`model.layers.${L}.${n}`);
	return out;
}

export interface ResolvedModule {
	name: string;
	layer: number;
	proj: ProjectionName;
	r: number;
	alpha: number;
	scale: number;
	in: number;
	out: number;
}

/**
 * The modules a LoRA config adapts on this model, with rank, alpha and scale per module —
 * PEFT's `_create_and_replace` logic: target_modules (null → PEFT's gemma2 default q_proj, v_proj;
 * "all-linear" → the seven projections), then layers_to_transform, then exclude_modules, then
 * rank_pattern / alpha_pattern on the module name. Throws when a target names a module the
 * studio cannot adapt (LM head, embedding, norms) or when nothing matches.
 */
export function resolveLoraModules(
	c: Gemma2Config,
	lc: LoraConfig & { exclude_modules?: string[] | string | null }
): ResolvedModule[] {
	const targets: string[] | string =
		lc.target_modules === null
			? PEFT_DEFAULT_GEMMA2_TARGETS
			: lc.target_modules === 'all-linear'
				? ALL_PROJECTIONS
				: lc.target_modules;
	for (const name of unsupportedModuleNames(c))
		if (matchesTargetModules(name, targets))
			throw new Error(
				`target_modules matches ${name}, which the studio cannot adapt (only the seven projections)`
			);
	if (lc.layers_to_transform)
		for (const L of lc.layers_to_transform)
			if (L >= c.numLayers)
				throw new Error(
					`layers_to_transform: layer ${L} does not exist (model has ${c.numLayers})`
				);
	const out: ResolvedModule[] = [];
	for (let L = 0; L < c.numLayers; L++) {
		if (lc.layers_to_transform && !lc.layers_to_transform.includes(L)) continue;
		for (const proj of ALL_PROJECTIONS) {
			const name = loraModuleName(L, proj);
			if (!matchesTargetModules(name, targets)) continue;
			if (lc.exclude_modules && matchesTargetModules(name, lc.exclude_modules)) continue;
			const rKey = patternKeyFor(lc.rank_pattern, name);
			const aKey = patternKeyFor(lc.alpha_pattern, name);
			const r = rKey === undefined ? lc.r : lc.rank_pattern[rKey];
			const alpha = aKey === undefined ? lc.lora_alpha : lc.alpha_pattern[aKey];
			const [rows, cols] = projectionShape(c, proj);
			out.push({
				name,
				layer: L,
				proj,
				r,
				alpha,
				scale: loraScale(alpha, r, lc.use_rslora),
				in: cols,
				out: rows
			});
		}
	}
	if (out.length === 0)
		throw new Error(
			`target_modules ${JSON.stringify(lc.target_modules)} matches no module of the model`
		);
	return out;
}

/**
 * A fresh adapter, initialised as PEFT's `reset_lora_parameters(init_lora_weights=True)`:
 * A ~ kaiming_uniform_(a = √5) — gain √(2/(1+5)), bound = gain·√3/√fan_in = 1/√in, so U(−1/√in, 1/√in) —
 * and B = 0, so the adapted model starts exactly at the base model. Seeded (mulberry32): the same
 * seed gives the same A, not torch's stream.
 */
export function createLoraAdapter(c: Gemma2Config, lc: LoraConfig, seed: number): LoraAdapter {
	const rnd = mulberry32(seed);
	const modules = new Map<string, LoraModule>();
	for (const m of resolveLoraModules(c, lc)) {
		const A = new Float32Array(m.r * m.in);
		const bound = 1 / Math.sqrt(m.in);
		for (let i = 0; i < A.length; i++) A[i] = (2 * rnd() - 1) * bound;
		modules.set(m.name, { ...m, A, B: new Float32Array(m.out * m.r) });
	}
	return { config: structuredClone(lc), modules };
}

/** Every trainable tensor by PEFT name (views on the adapter's own arrays). */
export function adapterTensors(a: LoraAdapter): Map<string, Float32Array> {
	const out = new Map<string, Float32Array>();
	for (const m of a.modules.values()) {
		out.set(loraTensorName(m.layer, m.proj, 'A'), m.A);
		out.set(loraTensorName(m.layer, m.proj, 'B'), m.B);
	}
	return out;
}

/**
 * A weighted sum of adapters as ONE adapter: ΔW = Σ_i w_i · s_i · B_i A_i for every module.
 * B·A is bilinear, so the sum is itself a product of concatenations:
 *   A = [A_1; A_2; …]  (rows stacked, [Σ r_i, in]),   B = [w_1 s_1 B_1 | w_2 s_2 B_2 | …]  ([out, Σ r_i]),
 * and B A = Σ_i (w_i s_i B_i) A_i exactly, with scale 1 (lora_alpha = r, no rslora). The rank grows
 * to Σ r_i; a module present in only some adapters takes only their terms. The only rounding is
 * w_i·s_i·B_i stored as f32. (Truncating with an SVD would keep the rank but change the maths.)
 */
export function mixAdapters(parts: { adapter: LoraAdapter; weight: number }[]): LoraAdapter {
	if (parts.length === 0) throw new Error('mixAdapters: nothing to mix');
	const names: string[] = [];
	for (const { adapter } of parts)
		for (const n of adapter.modules.keys()) if (!names.includes(n)) names.push(n);
	// keep layer-then-projection order
	const order = (n: string) => {
		const m = parts.find((p) => p.adapter.modules.has(n))!.adapter.modules.get(n)!;
		return m.layer * 16 + ALL_PROJECTIONS.indexOf(m.proj);
	};
	names.sort((a, b) => order(a) - order(b));
	const modules = new Map<string, LoraModule>();
	for (const name of names) {
		const present = parts.filter((p) => p.adapter.modules.has(name));
		const first = present[0].adapter.modules.get(name)!;
		const R = present.reduce((s, p) => s + p.adapter.modules.get(name)!.r, 0);
		const A = new Float32Array(R * first.in);
		const B = new Float32Array(first.out * R);
		let off = 0;
		for (const { adapter, weight } of present) {
			const m = adapter.modules.get(name)!;
			if (m.in !== first.in || m.out !== first.out)
				throw new Error(
					`mixAdapters: ${name} has shape [${m.out}, ${m.in}] in one adapter and [${first.out}, ${first.in}] in another`
				);
			A.set(m.A, off * m.in);
			const f = weight * m.scale;
			for (let n = 0; n < m.out; n++)
				for (let j = 0; j < m.r; j++) B[n * R + off + j] = f * m.B[n * m.r + j];
			off += m.r;
		}
		modules.set(name, {
			name,
			layer: first.layer,
			proj: first.proj,
			r: R,
			alpha: R,
			scale: 1,
			in: first.in,
			out: first.out,
			A,
			B
		});
	}
	// the most common rank as r (smallest on ties); the other modules go to rank/alpha patterns
	const counts = new Map<number, number>();
	for (const m of modules.values()) counts.set(m.r, (counts.get(m.r) ?? 0) + 1);
	const r = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
	const config: LoraConfig = {
		r,
		lora_alpha: r,
		lora_dropout: 0,
		target_modules: [...new Set([...modules.values()].map((m) => m.proj))],
		use_rslora: false,
		layers_to_transform: null,
		rank_pattern: {},
		alpha_pattern: {}
	};
	for (const [name, m] of modules)
		if (m.r !== r) {
			config.rank_pattern[modulePatternKey(name)] = m.r;
			config.alpha_pattern[modulePatternKey(name)] = m.r;
		}
	return { config, modules };
}
