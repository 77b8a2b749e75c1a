/**
 * Issue 12 · PEFT module patterns are untrusted: they run on a linear-time matcher
 * (src/lib/lora/module-regex.ts) that must agree with Python's `re` on real patterns and finish at
 * once on patterns that make a backtracking engine explode.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
	ModuleRegex,
	PythonRegexError,
	pyFullmatch,
	pyPatternKeyMatches
} from '../../src/lib/lora/module-regex';
import { parseAdapterConfig, PeftFormatError } from '../../src/lib/lora/peft';
import { resolveLoraModules } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

// Computed with CPython 3.11 `re` (see the python3 cross-check below).
const NAMES = [
	'layers.3.mlp.up_proj',
	'lm_head',
	'model.embed_tokens',
	'model.layers.0.input_layernorm',
	'model.layers.0.self_attn.q_proj',
	'model.layers.1.mlp.down_proj',
	'model.layers.10.self_attn.k_proj',
	'model.layers.12.self_attn.o_proj',
	'model.layers.3.mlp.up_proj',
	'q_proj'
];
/** pattern → the NAMES for which re.fullmatch(pattern, name) is not None */
const FULLMATCH: [string, string[]][] = [
	['.*\\.(q_proj|v_proj)', ['model.layers.0.self_attn.q_proj']],
	[
		'model\\.layers\\.[0-9]+\\.self_attn\\.(q|k|v|o)_proj',
		[
			'model.layers.0.self_attn.q_proj',
			'model.layers.12.self_attn.o_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	[
		'.*layers\\.(0|1|2)\\..*proj',
		['model.layers.0.self_attn.q_proj', 'model.layers.1.mlp.down_proj']
	],
	['.*\\.layers\\.\\d+\\.mlp\\..*', ['model.layers.3.mlp.up_proj', 'model.layers.1.mlp.down_proj']],
	['q_proj|v_proj', ['q_proj']],
	[
		'.*(?:self_attn|mlp)\\.\\w+_proj',
		[
			'model.layers.0.self_attn.q_proj',
			'model.layers.3.mlp.up_proj',
			'model.layers.12.self_attn.o_proj',
			'model.layers.1.mlp.down_proj',
			'layers.3.mlp.up_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	['(?i)MODEL\\.LAYERS\\.3\\..*', ['model.layers.3.mlp.up_proj']],
	['.*[^0-9]0\\.self_attn.*', ['model.layers.0.self_attn.q_proj']],
	[
		'.*\\.layers\\.1\\d?\\..*',
		[
			'model.layers.12.self_attn.o_proj',
			'model.layers.1.mlp.down_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	[
		'model\\.layers\\.(?P<n>\\d{1,2})\\.mlp\\.(gate|up|down)_proj',
		['model.layers.3.mlp.up_proj', 'model.layers.1.mlp.down_proj']
	],
	[
		'^model\\..*proj$',
		[
			'model.layers.0.self_attn.q_proj',
			'model.layers.3.mlp.up_proj',
			'model.layers.12.self_attn.o_proj',
			'model.layers.1.mlp.down_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	[
		'.*_proj\\b',
		[
			'model.layers.0.self_attn.q_proj',
			'model.layers.3.mlp.up_proj',
			'model.layers.12.self_attn.o_proj',
			'model.layers.1.mlp.down_proj',
			'q_proj',
			'layers.3.mlp.up_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	['[a-z_.]+', ['lm_head', 'model.embed_tokens', 'q_proj']],
	['[a-z_.0-9]+', [...NAMES]],
	['.{5,}', [...NAMES]],
	['model.layers.0.*', ['model.layers.0.self_attn.q_proj', 'model.layers.0.input_layernorm']],
	[
		'model\\.layers\\.(1[0-2]|[3-5])\\..*',
		[
			'model.layers.3.mlp.up_proj',
			'model.layers.12.self_attn.o_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	['.*\\.(?#comment)q_proj', ['model.layers.0.self_attn.q_proj']],
	['.*o_pro[j-k]', ['model.layers.12.self_attn.o_proj']],
	['lm_head|model\\.embed_tokens', ['lm_head', 'model.embed_tokens']],
	[
		'.*\\x5fproj',
		[
			'model.layers.0.self_attn.q_proj',
			'model.layers.3.mlp.up_proj',
			'model.layers.12.self_attn.o_proj',
			'model.layers.1.mlp.down_proj',
			'q_proj',
			'layers.3.mlp.up_proj',
			'model.layers.10.self_attn.k_proj'
		]
	],
	['[\\w.]*norm', ['model.layers.0.input_layernorm']]
];
/** key → the NAMES for which re.match(rf"(.*\.)?({key})$", name) is not None */
const PATTERN_KEY: [string, string[]][] = [
	['q_proj', ['model.layers.0.self_attn.q_proj', 'q_proj']],
	['layers\\.3\\.mlp\\.up_proj', ['model.layers.3.mlp.up_proj', 'layers.3.mlp.up_proj']],
	['model\\.layers\\.3\\.mlp\\.up_proj', ['model.layers.3.mlp.up_proj']],
	['up_proj', ['model.layers.3.mlp.up_proj', 'layers.3.mlp.up_proj']],
	['.*up_proj', ['model.layers.3.mlp.up_proj', 'layers.3.mlp.up_proj']],
	[
		'\\d+\\.mlp\\.\\w+',
		['model.layers.3.mlp.up_proj', 'model.layers.1.mlp.down_proj', 'layers.3.mlp.up_proj']
	],
	['proj', []],
	[
		'layers\\.\\d\\..*',
		[
			'model.layers.0.self_attn.q_proj',
			'model.layers.3.mlp.up_proj',
			'model.layers.1.mlp.down_proj',
			'model.layers.0.input_layernorm',
			'layers.3.mlp.up_proj'
		]
	],
	['3\\.mlp.up', []],
	[
		'mlp\\..*',
		['model.layers.3.mlp.up_proj', 'model.layers.1.mlp.down_proj', 'layers.3.mlp.up_proj']
	]
];

function hasPython(): boolean {
	try {
		execFileSync('python3', ['-c', 'import re'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

describe('PEFT module patterns match as Python re does', () => {
	it.each(FULLMATCH)('re.fullmatch(%s, name)', (pattern, expected) => {
		expect(NAMES.filter((n) => pyFullmatch(pattern, n)).sort()).toEqual([...expected].sort());
	});

	it.each(PATTERN_KEY)('rank/alpha pattern key %s (PEFT get_pattern_key)', (key, expected) => {
		expect(NAMES.filter((n) => pyPatternKeyMatches(key, n)).sort()).toEqual([...expected].sort());
	});

	it('search, match and the $-before-final-newline rule', () => {
		const r = ModuleRegex.compile('mlp\\.up');
		expect(r.search('model.layers.3.mlp.up_proj')).toBe(true);
		expect(r.match('model.layers.3.mlp.up_proj')).toBe(false);
		expect(ModuleRegex.compile('a$').fullmatch('a\n')).toBe(false);
		expect(ModuleRegex.compile('a$').match('a\n')).toBe(true);
	});

	it.skipIf(!hasPython())('the tables above are what this machine’s python3 re says', () => {
		const script = `
import json, re, sys
d = json.load(sys.stdin)
print(json.dumps({
  "full": [[p, [n for n in d["names"] if re.fullmatch(p, n)]] for p in d["full"]],
  "key": [[k, [n for n in d["names"] if re.match(rf"(.*\\.)?({k})$", n)]] for k in d["key"]],
}))`;
		const out = JSON.parse(
			execFileSync('python3', ['-c', script], {
				input: JSON.stringify({
					names: NAMES,
					full: FULLMATCH.map(([p]) => p),
					key: PATTERN_KEY.map(([k]) => k)
				})
			}).toString()
		);
		const sorted = (t: [string, string[]][]) => t.map(([p, ns]) => [p, [...ns].sort()]);
		expect(sorted(out.full)).toEqual(sorted(FULLMATCH));
		expect(sorted(out.key)).toEqual(sorted(PATTERN_KEY));
	});
});

describe('catastrophic patterns finish at once', () => {
	const name = 'model.layers.25.self_attn.q_proj'.repeat(3);
	// Each of these takes exponential time in a backtracking engine (JavaScript's, and Python's).
	it.each([
		['(.*)*X'],
		['(a+)+$'],
		['(a|aa)+$'],
		['(.*a){20}'],
		['((.*)*)*X'],
		['(\\w+\\.?)+#'],
		['(x+x+)+y']
	])('%s: no match, no hang', (pattern) => {
		const t0 = performance.now();
		expect(pyFullmatch(pattern, name)).toBe(false);
		expect(pyFullmatch(pattern, 'a'.repeat(100) + '!')).toBe(false);
		expect(pyPatternKeyMatches(pattern, name)).toBe(false);
		// generous: this is a hang detector, not a speed assertion
		expect(performance.now() - t0).toBeLessThan(5000);
	});

	it('a target_modules "(.*)*X" config resolves to an error, not a frozen page', () => {
		const { lora } = parseAdapterConfig(
			JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: '(.*)*X' })
		);
		expect(() => resolveLoraModules(TINY_CONFIG, lora)).toThrow(/matches no module/);
	});

	it('the same pattern as exclude_modules and as rank/alpha pattern keys is harmless', () => {
		const { lora } = parseAdapterConfig(
			JSON.stringify({
				peft_type: 'LORA',
				r: 4,
				lora_alpha: 8,
				target_modules: ['q_proj'],
				exclude_modules: '(.*)*X',
				rank_pattern: { '(a+)+$': 2 },
				alpha_pattern: { '(.*)*X': 2 }
			})
		);
		const mods = resolveLoraModules(TINY_CONFIG, lora);
		expect(mods.length).toBe(TINY_CONFIG.numLayers);
		expect(mods.every((m) => m.r === 4 && m.alpha === 8)).toBe(true);
	});

	it('a 1000×1000 counted repeat is refused for its size, not expanded', () => {
		expect(() => ModuleRegex.compile('(a{1000}){1000}')).toThrow(PythonRegexError);
	});
});

describe('unsupported or invalid regex features are refused naming the field', () => {
	it.each([
		['(a)\\1', /backreferences/],
		['(?P<x>a)(?P=x)', /backreferences/],
		['(?=q)q_proj', /lookaround/],
		['(?<!x)q_proj', /lookaround/],
		['(?>a)', /atomic/],
		['a*+', /possessive/],
		['a**', /multiple repeat/],
		['*a', /nothing to repeat/],
		['(q_proj', /missing \)/],
		['q_proj)', /unbalanced/],
		['[z-a]', /bad character range/],
		['\\q', /bad escape/],
		['a{3,2}', /min repeat greater than max/]
	])('target_modules %s', (pattern, why) => {
		const parse = () =>
			parseAdapterConfig(JSON.stringify({ peft_type: 'LORA', target_modules: pattern }));
		expect(parse).toThrow(PeftFormatError);
		expect(parse).toThrow(why);
		expect(parse).toThrow(/adapter_config\.json \(target_modules\)/);
	});

	it('a rank_pattern key names the field', () => {
		expect(() =>
			parseAdapterConfig(JSON.stringify({ peft_type: 'LORA', rank_pattern: { '(?=x)': 2 } }))
		).toThrow(/rank_pattern.*lookaround/);
	});

	it('Python accepts a literal { that is not a quantifier, and so do we', () => {
		expect(pyFullmatch('a{', 'a{')).toBe(true);
		expect(pyFullmatch('a{x}', 'a{x}')).toBe(true);
		expect(pyFullmatch('a{2}', 'aa')).toBe(true);
		expect(pyFullmatch('a{,2}', '')).toBe(true);
	});

	it('LORA_DEFAULTS targets still resolve', () => {
		expect(resolveLoraModules(TINY_CONFIG, LORA_DEFAULTS).length).toBeGreaterThan(0);
	});
});
