/**
 * Issue 12 · property-based fuzzing of every parser and validator of user or link input, with
 * fixed seeds and bounded runs: random and mutated inputs never hang and never throw anything but
 * the parser's own clear error; valid inputs round-trip.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { ALL_PROJECTIONS, LORA_DEFAULTS } from '../../src/lib/lora/config';
import {
	PythonRegexError,
	checkModulePattern,
	pyFullmatch,
	pyPatternKeyMatches
} from '../../src/lib/lora/module-regex';
import {
	ADAPTER_CONFIG_FILE,
	ADAPTER_WEIGHTS_FILE,
	exportPeftFiles,
	importPeftAdapter,
	parseAdapterConfig,
	PeftFormatError
} from '../../src/lib/lora/peft';
import { readZip, writeZip, ZipFormatError } from '../../src/lib/lora/zip';
import { ModelFormatError, parseHfConfig, parseMlcConfig } from '../../src/lib/model/config';
import { parseMlcManifest } from '../../src/lib/model/mlc';
import { parseSafetensors, writeSafetensors } from '../../src/lib/model/safetensors';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';
import { decodeShareState, encodeShareState, type ShareState } from '../../src/lib/share/link';
import { ShareLinkError } from '../../src/lib/share/sources';
import {
	CharactersFileError,
	exportCharactersFile,
	parseCharactersFile,
	serializeCharactersFile
} from '../../src/lib/studio/characters';
import {
	exportCsv,
	exportJsonl,
	parseCsv,
	parseJsonl,
	TrainingFileError
} from '../../src/lib/studio/formats';

const SEED = 20261203;
// Bounded runs take a second or two each; the timeout is headroom on a loaded machine, not a budget.
vi.setConfig({ testTimeout: 30_000 });
const run = (numRuns: number) => ({ seed: SEED, numRuns });

/** `f()` returns, or throws an instance of one of `allowed`; anything else fails the property. */
function onlyThrows(f: () => unknown, ...allowed: (abstract new (...a: never[]) => Error)[]) {
	try {
		f();
	} catch (e) {
		if (!allowed.some((c) => e instanceof c)) throw e;
	}
}
async function onlyRejects(
	f: () => Promise<unknown>,
	...allowed: (abstract new (...a: never[]) => Error)[]
) {
	try {
		await f();
	} catch (e) {
		if (!allowed.some((c) => e instanceof c)) throw e;
	}
}

/** A valid input with a few bytes overwritten, inserted or cut. */
const mutated = (valid: Uint8Array) =>
	fc
		.array(
			fc.record({
				kind: fc.constantFrom('set', 'insert', 'cut'),
				at: fc.nat({ max: valid.length }),
				byte: fc.integer({ min: 0, max: 255 })
			}),
			{ minLength: 1, maxLength: 6 }
		)
		.map((edits) => {
			let b = valid.slice();
			for (const e of edits) {
				const at = Math.min(e.at, b.length);
				if (e.kind === 'set' && at < b.length) b[at] = e.byte;
				else if (e.kind === 'insert')
					b = new Uint8Array([...b.subarray(0, at), e.byte, ...b.subarray(at)]);
				else b = b.subarray(0, at);
			}
			return b;
		});

const enc = new TextEncoder();
const dec = new TextDecoder();

// ------------------------------------------------------------------------ safetensors

describe('fuzz: safetensors', () => {
	const tensorArb = fc.record({
		name: fc.string({ minLength: 1, maxLength: 20 }).filter((n) => n !== '__metadata__'),
		shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 })
	});

	it('valid files round-trip', () => {
		fc.assert(
			fc.property(fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 5 }), (ts) => {
				const tensors = ts.map((t, i) => ({
					name: t.name,
					dtype: 'F32' as const,
					shape: t.shape,
					data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(i + 0.5)
				}));
				const parsed = parseSafetensors(writeSafetensors(tensors), 'x.safetensors');
				expect([...parsed.tensors.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
				for (const t of tensors)
					expect(new Float32Array(parsed.tensors.get(t.name)!.bytes.slice().buffer)).toEqual(
						t.data
					);
			}),
			run(200)
		);
	});

	it('random and mutated bytes: a ModelFormatError or a file, nothing else', () => {
		const valid = writeSafetensors([
			{ name: 'a', dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
			{ name: 'b', dtype: 'F16', shape: [4], data: new Float32Array(4) }
		]);
		fc.assert(
			fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated(valid)), (bytes) =>
				onlyThrows(() => parseSafetensors(bytes, 'x.safetensors'), ModelFormatError)
			),
			run(1000)
		);
	});
});

// ------------------------------------------------------------------------ zip

describe('fuzz: zip', () => {
	const entriesArb = fc.uniqueArray(
		fc.record({
			name: fc.stringMatching(/^[a-z0-9_]{1,12}(\/[a-z0-9_.]{1,12})?$/),
			data: fc.uint8Array({ maxLength: 200 })
		}),
		{ selector: (e) => e.name, maxLength: 4 }
	);

	it('valid archives round-trip', async () => {
		await fc.assert(
			fc.asyncProperty(entriesArb, async (entries) => {
				if (entries.length === 0) return;
				expect(await readZip(writeZip(entries))).toEqual(entries);
			}),
			run(100)
		);
	});

	it('random and mutated archives: a ZipFormatError or entries, nothing else', async () => {
		const valid = writeZip([
			{ name: 'adapter_config.json', data: enc.encode('{"r": 8}') },
			{ name: 'adapter_model.safetensors', data: new Uint8Array(64).fill(7) }
		]);
		await fc.assert(
			fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated(valid)), (bytes) =>
				onlyRejects(() => readZip(bytes), ZipFormatError)
			),
			run(500)
		);
	});
});

// ------------------------------------------------------------------------ PEFT

describe('fuzz: PEFT config, patterns and tensors', () => {
	const peftKeys = [
		'peft_type',
		'r',
		'lora_alpha',
		'lora_dropout',
		'target_modules',
		'exclude_modules',
		'layers_to_transform',
		'layers_pattern',
		'rank_pattern',
		'alpha_pattern',
		'use_rslora',
		'use_dora',
		'bias',
		'modules_to_save',
		'init_lora_weights',
		'fan_in_fan_out',
		'task_type',
		'base_model_name_or_path'
	];
	const regexish = fc.stringMatching(/^[a-z_.()|*+?{},\\\[\]^$0-9-]{0,24}$/);
	const value = fc.oneof(
		fc.jsonValue({ maxDepth: 2 }),
		regexish,
		fc.array(fc.constantFrom(...ALL_PROJECTIONS, 'lm_head', 'x')),
		fc.dictionary(regexish, fc.oneof(fc.integer(), fc.double()))
	);
	const configArb = fc
		.dictionary(fc.constantFrom(...peftKeys), value)
		.map((c) => ({ peft_type: 'LORA', ...c }));
	const valid = exportPeftFiles(
		TINY_CONFIG,
		createLoraAdapter(TINY_CONFIG, { ...LORA_DEFAULTS, r: 2, target_modules: ['q_proj'] }, 1),
		{ baseModel: 'x' }
	);

	it('random configs: a PeftFormatError or a config, nothing else; imports likewise', () => {
		fc.assert(
			fc.property(configArb, (config) => {
				const text = JSON.stringify(config);
				onlyThrows(() => parseAdapterConfig(text), PeftFormatError);
				onlyThrows(
					() => importPeftAdapter(TINY_CONFIG, text, valid[ADAPTER_WEIGHTS_FILE]),
					PeftFormatError,
					ModelFormatError
				);
			}),
			run(1500)
		);
	});

	it('random patterns: a PythonRegexError or a matcher that answers', () => {
		const names = ['model.layers.0.self_attn.q_proj', 'model.layers.12.mlp.down_proj', 'lm_head'];
		fc.assert(
			fc.property(regexish, (p) => {
				try {
					checkModulePattern(p);
				} catch (e) {
					if (e instanceof PythonRegexError) return;
					throw e;
				}
				for (const n of names) {
					expect(typeof pyFullmatch(p, n)).toBe('boolean');
					expect(typeof pyPatternKeyMatches(p, n)).toBe('boolean');
				}
			}),
			run(2000)
		);
	});

	it('mutated weights: a PeftFormatError/ModelFormatError or an adapter', () => {
		const config = dec.decode(valid[ADAPTER_CONFIG_FILE]);
		fc.assert(
			fc.property(mutated(valid[ADAPTER_WEIGHTS_FILE]), (bytes) =>
				onlyThrows(
					() => importPeftAdapter(TINY_CONFIG, config, bytes),
					PeftFormatError,
					ModelFormatError
				)
			),
			run(500)
		);
	});

	it('valid adapters round-trip through export and import', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 8 }),
				fc.double({ min: 0.5, max: 64, noNaN: true }),
				fc.subarray([...ALL_PROJECTIONS], { minLength: 1 }),
				fc.integer(),
				(r, alpha, targets, seed) => {
					const a = createLoraAdapter(
						TINY_CONFIG,
						{ ...LORA_DEFAULTS, r, lora_alpha: alpha, target_modules: targets },
						seed
					);
					const f = exportPeftFiles(TINY_CONFIG, a, { baseModel: 'x' });
					const back = importPeftAdapter(
						TINY_CONFIG,
						dec.decode(f[ADAPTER_CONFIG_FILE]),
						f[ADAPTER_WEIGHTS_FILE]
					).adapter;
					expect([...back.modules.keys()]).toEqual([...a.modules.keys()]);
					for (const [k, m] of a.modules) expect(back.modules.get(k)!.A).toEqual(m.A);
				}
			),
			run(30)
		);
	}, 30_000);
});

// ------------------------------------------------------------------------ model configs

describe('fuzz: HF config, MLC config and manifest', () => {
	const hf = JSON.parse(readFileSync('fixtures/tiny-hf/config.json', 'utf8'));
	const mlc = JSON.parse(readFileSync('fixtures/tiny-mlc/mlc-chat-config.json', 'utf8'));
	const manifest = JSON.parse(readFileSync('fixtures/tiny-mlc/tensor-cache.json', 'utf8'));
	const numberish = fc.oneof(
		fc.jsonValue({ maxDepth: 1 }),
		fc.double(),
		fc.integer(),
		fc.constantFrom(0, -1, 1e9, 1e308, 2 ** 53, 0.5)
	);

	it('HF config.json with fields replaced: a ModelFormatError or a config within bounds', () => {
		fc.assert(
			fc.property(fc.dictionary(fc.constantFrom(...Object.keys(hf)), numberish), (over) =>
				onlyThrows(() => {
					const c = parseHfConfig({ ...hf, ...over });
					expect(c.numLayers).toBeLessThanOrEqual(1024);
					expect(c.contextLength).toBeLessThanOrEqual(1_048_576);
				}, ModelFormatError)
			),
			run(1500)
		);
	});

	it('MLC config with fields replaced: a ModelFormatError or a config', () => {
		fc.assert(
			fc.property(
				fc.dictionary(fc.constantFrom(...Object.keys(mlc.model_config)), numberish),
				fc.dictionary(fc.constantFrom(...Object.keys(mlc)), numberish),
				(inner, outer) =>
					onlyThrows(
						() =>
							parseMlcConfig({ ...mlc, ...outer, model_config: { ...mlc.model_config, ...inner } }),
						ModelFormatError
					)
			),
			run(1000)
		);
	});

	it('MLC manifest with records mutated: a ModelFormatError or a manifest', () => {
		const paths: [number, number][] = manifest.records.flatMap(
			(s: { records: unknown[] }, i: number) => s.records.map((_, j) => [i, j])
		);
		fc.assert(
			fc.property(
				fc.constantFrom(...paths),
				fc.constantFrom('name', 'shape', 'dtype', 'nbytes', 'byteOffset', 'format'),
				numberish,
				fc.dictionary(fc.constantFrom('dataPath', 'nbytes', 'records', 'md5sum'), numberish),
				([i, j], key, v, shardOver) => {
					const m = structuredClone(manifest);
					m.records[i].records[j][key] = v;
					Object.assign(m.records[i], shardOver);
					onlyThrows(() => parseMlcManifest(m, 'tensor-cache.json'), ModelFormatError);
				}
			),
			run(1000)
		);
	});
});

// ------------------------------------------------------------------------ training files

describe('fuzz: JSONL and CSV', () => {
	const text = fc.string({
		unit: fc.constantFrom('a', 'あ', ' ', ',', '"', '\n', '\r', '{', '}', ':'),
		maxLength: 40
	});
	const exchange = fc.record({
		user: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== ''),
		model: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '')
	});
	const examples = fc.array(exchange, { minLength: 1, maxLength: 8 }).map((xs) =>
		xs.map((x) => ({
			messages: [
				{ role: 'user' as const, content: x.user },
				{ role: 'model' as const, content: x.model }
			]
		}))
	);

	it('valid files round-trip (JSONL and CSV)', () => {
		fc.assert(
			fc.property(examples, (ex) => {
				expect(parseJsonl(exportJsonl(ex)).examples).toEqual(ex);
				expect(parseCsv(exportCsv(ex)).examples).toEqual(ex);
			}),
			run(300)
		);
	});

	it('random text: a TrainingFileError or rows with their problems, nothing else', () => {
		fc.assert(
			fc.property(
				fc.array(text, { maxLength: 8 }).map((ls) => ls.join('\n')),
				(t) => {
					onlyThrows(() => parseJsonl(t, { skipInvalid: true }), TrainingFileError);
					onlyThrows(() => parseJsonl(t), TrainingFileError);
					onlyThrows(
						() => parseCsv(`user,assistant\n${t}`, { skipInvalid: true }),
						TrainingFileError
					);
					onlyThrows(() => parseCsv(t), TrainingFileError);
				}
			),
			run(1500)
		);
	});
});

// ------------------------------------------------------------------------ characters, share links

describe('fuzz: character files and share links', () => {
	it('character files round-trip; random JSON gives a CharactersFileError', () => {
		const character = fc.record({
			name: fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
			language: fc.constantFrom('en' as const, 'ja' as const),
			profile: fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
			styleNotes: fc.string(),
			exampleLines: fc.array(fc.string(), { maxLength: 3 }),
			prompt: fc.string({ minLength: 1 }).filter((s) => s.trim() !== '')
		});
		fc.assert(
			fc.property(fc.array(character, { maxLength: 3 }), (cs) => {
				const file = exportCharactersFile(cs, []);
				expect(parseCharactersFile(serializeCharactersFile(file))).toEqual(file);
			}),
			run(200)
		);
		fc.assert(
			fc.property(fc.oneof(fc.json({ maxDepth: 3 }), fc.string()), (t) =>
				onlyThrows(() => parseCharactersFile(t), CharactersFileError)
			),
			run(1000)
		);
	});

	it('share links round-trip; random fragments give a ShareLinkError', () => {
		const state: fc.Arbitrary<ShareState> = fc.record(
			{
				v: fc.constant(1 as const),
				model: fc.oneof(
					fc.record({
						kind: fc.constant('hub' as const),
						repo: fc.stringMatching(/^[a-z][a-z0-9]{0,8}\/[a-z][a-z0-9]{0,8}$/),
						revision: fc.constantFrom('main', 'v1.0', 'abc123')
					}),
					fc.record({
						kind: fc.constant('url' as const),
						url: fc.constantFrom('https://h.example/m/', '/models/tiny-mlc/')
					})
				),
				characterPrompt: fc.string({ minLength: 1, maxLength: 200 }),
				sampling: fc.record({
					temperature: fc.double({ min: 0, max: 2, noNaN: true }),
					topK: fc.integer({ min: 0, max: 1000 }),
					topP: fc.double({ min: 0, max: 1, noNaN: true }),
					repetitionPenalty: fc.double({ min: 1, max: 2, noNaN: true }),
					maxNewTokens: fc.integer({ min: 1, max: 8192 })
				})
			},
			{ requiredKeys: ['v', 'model'] }
		);
		fc.assert(
			fc.property(state, (s) => {
				expect(decodeShareState(encodeShareState(s))).toEqual(JSON.parse(JSON.stringify(s)));
			}),
			run(300)
		);
		const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
		fc.assert(
			fc.property(
				fc.oneof(
					fc.string({ maxLength: 60 }),
					fc.jsonValue({ maxDepth: 3 }).map(b64),
					fc
						.dictionary(
							fc.constantFrom('v', 'model', 'adapter', 'characterPrompt', 'sampling', 'x'),
							fc.jsonValue({ maxDepth: 2 })
						)
						.map(b64)
				),
				(fragment) => onlyThrows(() => decodeShareState(fragment), ShareLinkError)
			),
			run(1500)
		);
	});
});
