/**
 * The float64 reference is the oracle of the GPU tests, so it must stay a leaf: nothing in the
 * product imports it (only tests and scripts do), and it imports nothing of the product but the
 * shared leaf modules both sides use (the model's config and weights contract, labels, PEFT names,
 * the PRNG).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');
const REFERENCE = join(SRC, 'lib/reference');
/** What the reference may import besides itself; each of these imports only from this list. */
const SHARED_LEAVES = [
	'lib/model/config.ts',
	'lib/model/weights.ts',
	'lib/lora/labels.ts',
	'lib/lora/tensor-names.ts',
	'lib/random.ts'
];

function sourceFiles(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const path = join(dir, e.name);
		if (e.isDirectory()) return sourceFiles(path);
		return /\.(ts|js|svelte)$/.test(e.name) ? [path] : [];
	});
}

/** Relative and $lib imports of a file, resolved to paths under src/ ('lib/…'); packages are skipped. */
function localImports(file: string): string[] {
	const text = readFileSync(file, 'utf8');
	const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
	return specs
		.filter((s) => s.startsWith('.') || s.startsWith('$lib'))
		.map((s) => {
			const abs = s.startsWith('$lib') ? join(SRC, 'lib', s.slice(5)) : resolve(dirname(file), s);
			const path = relative(SRC, abs);
			return /\.(ts|js|svelte)$/.test(path) ? path : `${path}.ts`;
		});
}

describe('the float64 reference is a leaf', () => {
	const files = sourceFiles(SRC);

	it('nothing under src/ outside src/lib/reference imports it', () => {
		const offenders = files
			.filter((f) => !f.startsWith(REFERENCE))
			.flatMap((f) =>
				localImports(f)
					.filter((p) => p.startsWith('lib/reference/'))
					.map((p) => `${relative(SRC, f)} → ${p}`)
			);
		expect(offenders).toEqual([]);
	});

	it('it imports only itself and the shared leaf modules, which import only each other', () => {
		const offenders = files
			.filter((f) => f.startsWith(REFERENCE))
			.flatMap((f) =>
				localImports(f)
					.filter((p) => !p.startsWith('lib/reference/') && !SHARED_LEAVES.includes(p))
					.map((p) => `${relative(SRC, f)} → ${p}`)
			);
		const leafOffenders = SHARED_LEAVES.flatMap((leaf) =>
			localImports(join(SRC, leaf))
				.filter((p) => !SHARED_LEAVES.includes(p))
				.map((p) => `${leaf} → ${p}`)
		);
		expect([...offenders, ...leafOffenders]).toEqual([]);
	});
});
