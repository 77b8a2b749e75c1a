/**
 * Each kernel's bindings (KernelBindings in its .ts) against its WGSL: the .wgsl declares no
 * binding of its own, and every entry point declares exactly the bound variables it uses — in its
 * body or in the functions it calls — so no entry point reads a variable bound for another.
 */
import { describe, expect, it } from 'vitest';
import { UniformLayout } from '../../src/lib/webgpu/kernel';
import { KernelBindings, type EntryBindings } from '../../src/lib/webgpu/kernel-bindings';
import { ADAMW_BINDINGS } from '../../src/lib/webgpu/kernels/adamw';
import adamw from '../../src/lib/webgpu/kernels/adamw.wgsl?raw';
import activations from '../../src/lib/webgpu/kernels/activations.wgsl?raw';
import { ATTENTION_BINDINGS } from '../../src/lib/webgpu/kernels/attention';
import attention from '../../src/lib/webgpu/kernels/attention.wgsl?raw';
import { CROSS_ENTROPY_BINDINGS } from '../../src/lib/webgpu/kernels/cross-entropy';
import crossEntropy from '../../src/lib/webgpu/kernels/cross-entropy.wgsl?raw';
import { EMBEDDING_BINDINGS } from '../../src/lib/webgpu/kernels/embedding';
import embedding from '../../src/lib/webgpu/kernels/embedding.wgsl?raw';
import { GELU_GATE_BINDINGS } from '../../src/lib/webgpu/kernels/gelu-gate';
import geluGate from '../../src/lib/webgpu/kernels/gelu-gate.wgsl?raw';
import { SOFTCAP_BINDINGS } from '../../src/lib/webgpu/kernels/lm-head';
import lmHead from '../../src/lib/webgpu/kernels/lm-head.wgsl?raw';
import { RMSNORM_BINDINGS } from '../../src/lib/webgpu/kernels/rmsnorm';
import rmsnorm from '../../src/lib/webgpu/kernels/rmsnorm.wgsl?raw';
import { ROPE_BINDINGS } from '../../src/lib/webgpu/kernels/rope';
import rope from '../../src/lib/webgpu/kernels/rope.wgsl?raw';
import { SAMPLING_BINDINGS } from '../../src/lib/webgpu/kernels/sampling';
import sampling from '../../src/lib/webgpu/kernels/sampling.wgsl?raw';

type AnyBindings = KernelBindings<Record<string, EntryBindings>>;

/** [file, its WGSL with what the .ts prepends besides the bindings, the declaration]. */
const CASES: [string, string, AnyBindings][] = [
	['adamw.wgsl', adamw, ADAMW_BINDINGS],
	['attention.wgsl', attention, ATTENTION_BINDINGS],
	['cross-entropy.wgsl', crossEntropy, CROSS_ENTROPY_BINDINGS],
	['embedding.wgsl', embedding, EMBEDDING_BINDINGS],
	['gelu-gate.wgsl', activations + geluGate, GELU_GATE_BINDINGS],
	['lm-head.wgsl', activations + lmHead, SOFTCAP_BINDINGS],
	['rmsnorm.wgsl', rmsnorm, RMSNORM_BINDINGS],
	['rope.wgsl', rope, ROPE_BINDINGS],
	['sampling.wgsl', sampling, SAMPLING_BINDINGS]
];

/** Each function of `code`: the identifiers its body uses that are not its own parameters or locals. */
function functions(code: string): Map<string, Set<string>> {
	const text = code.replace(/\/\/[^\n]*/g, '');
	const out = new Map<string, Set<string>>();
	for (const m of text.matchAll(/\bfn\s+(\w+)\s*\(/g)) {
		const open = text.indexOf('{', m.index);
		let depth = 0;
		let end = open;
		for (; end < text.length; end++) {
			if (text[end] === '{') depth++;
			else if (text[end] === '}' && --depth === 0) break;
		}
		const params = text.slice(m.index + m[0].length, open);
		const body = text.slice(open, end);
		const locals = new Set([
			...[...params.matchAll(/(\w+)\s*:/g)].map((p) => p[1]),
			...[...body.matchAll(/\b(?:let|var|const)\s+(\w+)/g)].map((p) => p[1])
		]);
		const used = [...body.matchAll(/(?<![\w.])[A-Za-z_]\w*/g)].map((u) => u[0]);
		out.set(m[1], new Set(used.filter((u) => !locals.has(u))));
	}
	return out;
}

/** The identifiers `entry` reaches: its body's and those of the functions it calls, transitively. */
function reached(fns: Map<string, Set<string>>, entry: string): Set<string> {
	const seen = new Set<string>();
	const visit = (fn: string) => {
		for (const id of fns.get(fn) ?? []) {
			if (seen.has(id)) continue;
			seen.add(id);
			if (fns.has(id)) visit(id);
		}
	};
	visit(entry);
	return seen;
}

describe('kernel bindings are declared once, in the .ts', () => {
	for (const [file, code, bindings] of CASES)
		it(`${file}: every entry point binds exactly the variables it uses`, () => {
			expect(code).not.toMatch(/@binding/);
			const fns = functions(bindings.wgsl + code);
			const entries = Object.keys(bindings.entries);
			const bound = new Set(entries.flatMap((e) => bindings.names(e)));
			for (const entry of entries) {
				expect(code).toMatch(new RegExp(`@compute[^\\n]*\\n\\s*fn ${entry}\\(`));
				const used = [...reached(fns, entry)].filter((id) => bound.has(id));
				expect(used.sort(), entry).toEqual([...bindings.names(entry)].sort());
			}
		});

	it('generates one declaration per variable, the uniform last, f32 unless named', () => {
		const params = new UniformLayout('Params', [['n', 'u32']] as const);
		const b = new KernelBindings('k', {
			one: { x: 'read', ids: 'read u32', y: 'read_write', p: params },
			two: { x: 'read', out: 'read_write vec4<f32>', q: params }
		});
		expect(b.wgsl.trim().split('\n')).toEqual([
			'@group(0) @binding(0) var<storage, read> x: array<f32>;',
			'@group(0) @binding(1) var<storage, read> ids: array<u32>;',
			'@group(0) @binding(2) var<storage, read_write> y: array<f32>;',
			'@group(0) @binding(3) var<uniform> p: Params;',
			'@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;',
			'@group(0) @binding(2) var<uniform> q: Params;'
		]);
		const [x, ids, y] = [{}, {}, {}] as GPUBuffer[];
		expect(b.order('one', { y, ids, x })).toEqual([x, ids, y]);
	});

	it('refuses a variable bound differently by two entry points, and a uniform before a buffer', () => {
		const params = new UniformLayout('Params', [['n', 'u32']] as const);
		expect(
			() => new KernelBindings('k', { one: { x: 'read' }, two: { y: 'read', x: 'read' } })
		).toThrow(/k\.two: x is declared as .*binding\(1\).* here/);
		expect(() => new KernelBindings('k', { one: { p: params, x: 'read' } })).toThrow(
			/k\.one: the uniform p must be the last binding/
		);
	});

	it('names a missing buffer', () => {
		const b = new KernelBindings('k', { one: { x: 'read', y: 'read_write' } });
		expect(() => b.order('one', { x: {} as GPUBuffer } as never)).toThrow(
			/k\.one: no buffer for binding y/
		);
	});
});
