import { describe, expect, it } from 'vitest';
import {
	createLoraAdapter,
	matchesTargetModules,
	mixAdapters,
	modulePatternKey,
	patternKeyFor,
	type LoraAdapter
} from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import { loraModuleName, loraTensorName } from '../../src/lib/lora/tensor-names';
import { referenceForward, toReferenceLora } from '../../src/lib/reference/gemma2';
import { randomWeights, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';

const all = { ...LORA_DEFAULTS, target_modules: [...ALL_PROJECTIONS] };

function randomizeB(a: LoraAdapter, seed: number): LoraAdapter {
	const r = seededRandom(seed);
	for (const m of a.modules.values())
		for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround((r() * 2 - 1) * 0.25);
	return a;
}

describe('PEFT names and matching', () => {
	it('module and tensor names are PEFT’s', () => {
		expect(loraModuleName(3, 'up_proj')).toBe('model.layers.3.mlp.up_proj');
		expect(loraTensorName(0, 'q_proj', 'A')).toBe(
			'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'
		);
		expect(loraTensorName(25, 'down_proj', 'B')).toBe(
			'base_model.model.model.layers.25.mlp.down_proj.lora_B.weight'
		);
	});
	it('target_modules: list = exact or ".entry" suffix, string = full regex match', () => {
		expect(matchesTargetModules('model.layers.0.self_attn.q_proj', ['q_proj'])).toBe(true);
		expect(matchesTargetModules('model.layers.0.self_attn.q_proj', ['self_attn.q_proj'])).toBe(
			true
		);
		expect(matchesTargetModules('model.layers.0.self_attn.q_proj', ['_proj'])).toBe(false);
		expect(matchesTargetModules('model.layers.0.self_attn.q_proj', 'q_proj')).toBe(false); // fullmatch
		expect(matchesTargetModules('model.layers.0.self_attn.q_proj', '.*\\.(q|v)_proj')).toBe(true);
	});
	it('rank/alpha pattern keys match a dot-separated suffix, like PEFT’s get_pattern_key', () => {
		expect(patternKeyFor({ q_proj: 4 }, 'model.layers.1.self_attn.q_proj')).toBe('q_proj');
		expect(
			patternKeyFor({ 'layers.1.self_attn.q_proj': 4 }, 'model.layers.1.self_attn.q_proj')
		).toBe('layers.1.self_attn.q_proj');
		expect(
			patternKeyFor({ 'layers.1.self_attn.q_proj': 4 }, 'model.layers.11.self_attn.q_proj')
		).toBeUndefined();
		expect(patternKeyFor({ proj: 4 }, 'model.layers.1.self_attn.q_proj')).toBeUndefined(); // q_proj ≠ .proj
		// the escaped per-module keys we write match their module only
		const key = modulePatternKey('model.layers.1.self_attn.q_proj');
		expect(key).toBe('layers\\.1\\.self_attn\\.q_proj');
		expect(patternKeyFor({ [key]: 4 }, 'model.layers.1.self_attn.q_proj')).toBe(key);
		expect(patternKeyFor({ [key]: 4 }, 'model.layers.11.self_attn.q_proj')).toBeUndefined();
		expect(new RegExp(`.*\\.${key}$`).test('model.layers.1.self_attn.q_proj')).toBe(true); // PEFT < 0.14
	});
});

describe('createLoraAdapter', () => {
	it('PEFT init: A ~ U(−1/√in, 1/√in), B = 0, scale alpha/r; seeded', () => {
		const a = createLoraAdapter(TINY_CONFIG, { ...all, r: 4, lora_alpha: 8 }, 1);
		expect(a.modules.size).toBe(3 * 7);
		for (const m of a.modules.values()) {
			expect(m.A.length).toBe(4 * m.in);
			expect(m.B.length).toBe(m.out * 4);
			expect(m.B.every((x) => x === 0)).toBe(true);
			const bound = 1 / Math.sqrt(m.in);
			expect(m.A.every((x) => Math.abs(x) <= bound)).toBe(true);
			expect(Math.max(...m.A.map(Math.abs))).toBeGreaterThan(0.8 * bound);
			expect(m.scale).toBe(2);
		}
		const q = a.modules.get('model.layers.0.self_attn.q_proj')!;
		expect([q.in, q.out]).toEqual([64, 128]);
		const b = createLoraAdapter(TINY_CONFIG, { ...all, r: 4, lora_alpha: 8 }, 1);
		expect(b.modules.get('model.layers.2.mlp.down_proj')!.A).toEqual(
			a.modules.get('model.layers.2.mlp.down_proj')!.A
		);
	});
	it('rslora scales by alpha/√r; null targets are PEFT’s gemma2 default (q_proj, v_proj)', () => {
		const a = createLoraAdapter(
			TINY_CONFIG,
			{ ...LORA_DEFAULTS, r: 4, lora_alpha: 8, use_rslora: true },
			1
		);
		expect([...a.modules.keys()].filter((k) => k.startsWith('model.layers.0.'))).toEqual([
			'model.layers.0.self_attn.q_proj',
			'model.layers.0.self_attn.v_proj'
		]);
		for (const m of a.modules.values()) expect(m.scale).toBe(4);
	});
	it('honours layers_to_transform, rank_pattern and alpha_pattern', () => {
		const a = createLoraAdapter(
			TINY_CONFIG,
			{
				...all,
				r: 2,
				lora_alpha: 4,
				layers_to_transform: [0, 2],
				rank_pattern: { q_proj: 4 },
				alpha_pattern: { 'layers.2.mlp.down_proj': 1 }
			},
			1
		);
		expect(a.modules.size).toBe(14);
		expect(a.modules.has('model.layers.1.self_attn.q_proj')).toBe(false);
		expect(a.modules.get('model.layers.0.self_attn.q_proj')).toMatchObject({
			r: 4,
			alpha: 4,
			scale: 1
		});
		expect(a.modules.get('model.layers.2.mlp.down_proj')).toMatchObject({
			r: 2,
			alpha: 1,
			scale: 0.5
		});
		expect(a.modules.get('model.layers.0.mlp.down_proj')).toMatchObject({
			r: 2,
			alpha: 4,
			scale: 2
		});
	});
	it('refuses targets the studio cannot adapt, and targets that match nothing', () => {
		expect(() =>
			createLoraAdapter(TINY_CONFIG, { ...all, target_modules: ['q_proj', 'lm_head'] }, 1)
		).toThrow(/lm_head/);
		expect(() => createLoraAdapter(TINY_CONFIG, { ...all, target_modules: '.*' }, 1)).toThrow(
			/cannot adapt/
		);
		expect(() => createLoraAdapter(TINY_CONFIG, { ...all, target_modules: ['qproj'] }, 1)).toThrow(
			/matches no module/
		);
		expect(() => createLoraAdapter(TINY_CONFIG, { ...all, layers_to_transform: [5] }, 1)).toThrow(
			/layer 5/
		);
	});
});

describe('mixAdapters', () => {
	it('B·A of the mix equals Σ wᵢ·sᵢ·Bᵢ·Aᵢ exactly, with the ranks concatenated and scale 1', () => {
		const a1 = randomizeB(createLoraAdapter(TINY_CONFIG, { ...all, r: 2, lora_alpha: 4 }, 1), 2); // s = 2
		const a2 = randomizeB(
			createLoraAdapter(
				TINY_CONFIG,
				{ ...all, r: 4, lora_alpha: 4, target_modules: ['q_proj', 'o_proj'] },
				3
			),
			4
		); // s = 1
		const mix = mixAdapters([
			{ adapter: a1, weight: 0.5 },
			{ adapter: a2, weight: 2 }
		]);
		expect(mix.modules.size).toBe(21);
		for (const [name, m] of mix.modules) {
			const parts = [
				{ a: a1.modules.get(name), w: 0.5 },
				{ a: a2.modules.get(name), w: 2 }
			].filter((p) => p.a);
			expect(m.r).toBe(parts.reduce((s, p) => s + p.a!.r, 0));
			expect(m.scale).toBe(1);
			for (let n = 0; n < m.out; n += 7)
				for (let k = 0; k < m.in; k += 5) {
					let mixed = 0;
					for (let j = 0; j < m.r; j++) mixed += m.B[n * m.r + j] * m.A[j * m.in + k];
					let expected = 0;
					for (const { a, w } of parts)
						for (let j = 0; j < a!.r; j++)
							expected += w * a!.scale * a!.B[n * a!.r + j] * a!.A[j * a!.in + k];
					expect(mixed).toBeCloseTo(expected, 14);
				}
		}
		// a forward with the mix = a forward with the sum of the weighted deltas
		const w = randomWeights(TINY_CONFIG, 3);
		const tok = [2, 106, 300, 301, 107];
		const viaMix = referenceForward(w, tok, { lora: toReferenceLora(mix) });
		const alone = referenceForward(w, tok, {
			lora: toReferenceLora(mixAdapters([{ adapter: a1, weight: 1 }]))
		});
		const direct = referenceForward(w, tok, { lora: toReferenceLora(a1) });
		for (let i = 0; i < alone.length; i++) expect(alone[i]).toBeCloseTo(direct[i], 10);
		expect(viaMix.some((x, i) => Math.abs(x - direct[i]) > 1e-6)).toBe(true);
	});
});
