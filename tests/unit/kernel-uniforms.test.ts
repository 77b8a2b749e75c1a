/**
 * Each kernel's uniform layout (UniformLayout in its .ts) against the WGSL struct it fills:
 * the same fields, in the same order, with the same scalar types.
 */
import { describe, expect, it } from 'vitest';
import type { UniformLayout } from '../../src/lib/webgpu/kernel';
import { ADAMW_NORM_PARAMS, ADAMW_STEP_PARAMS } from '../../src/lib/webgpu/kernels/adamw';
import adamw from '../../src/lib/webgpu/kernels/adamw.wgsl?raw';
import { ATTENTION_PARAMS, KV_STORE_PARAMS } from '../../src/lib/webgpu/kernels/attention';
import attention from '../../src/lib/webgpu/kernels/attention.wgsl?raw';
import { CROSS_ENTROPY_PARAMS } from '../../src/lib/webgpu/kernels/cross-entropy';
import crossEntropy from '../../src/lib/webgpu/kernels/cross-entropy.wgsl?raw';
import { EMBEDDING_PARAMS } from '../../src/lib/webgpu/kernels/embedding';
import embedding from '../../src/lib/webgpu/kernels/embedding.wgsl?raw';
import { GELU_GATE_PARAMS } from '../../src/lib/webgpu/kernels/gelu-gate';
import geluGate from '../../src/lib/webgpu/kernels/gelu-gate.wgsl?raw';
import { GEMV_PARAMS } from '../../src/lib/webgpu/kernels/gemv';
import gemv from '../../src/lib/webgpu/kernels/gemv.wgsl?raw';
import { SOFTCAP_PARAMS } from '../../src/lib/webgpu/kernels/lm-head';
import lmHead from '../../src/lib/webgpu/kernels/lm-head.wgsl?raw';
import { LORA_PARAMS } from '../../src/lib/webgpu/kernels/lora';
import lora from '../../src/lib/webgpu/kernels/lora.wgsl?raw';
import { MATMUL_PARAMS, WGRAD_PARAMS } from '../../src/lib/webgpu/kernels/matmul';
import matmul from '../../src/lib/webgpu/kernels/matmul.wgsl?raw';
import { RMSNORM_PARAMS } from '../../src/lib/webgpu/kernels/rmsnorm';
import rmsnorm from '../../src/lib/webgpu/kernels/rmsnorm.wgsl?raw';
import { ROPE_KV_PARAMS, ROPE_PARAMS } from '../../src/lib/webgpu/kernels/rope';
import rope from '../../src/lib/webgpu/kernels/rope.wgsl?raw';
import { SAMPLING_PARAMS } from '../../src/lib/webgpu/kernels/sampling';
import sampling from '../../src/lib/webgpu/kernels/sampling.wgsl?raw';

/** [name, type] of each field of `struct name { … }` in WGSL text (comments dropped). */
function wgslStruct(code: string, name: string): [string, string][] {
	const m = code.match(new RegExp(`struct ${name}\\s*\\{([^}]*)\\}`));
	if (!m) throw new Error(`no struct ${name}`);
	return m[1]
		.replace(/\/\/[^\n]*/g, '')
		.split(',')
		.map((f) => f.trim())
		.filter(Boolean)
		.map((f) => f.split(':').map((s) => s.trim()) as [string, string]);
}

const CASES: [string, string, UniformLayout<string>][] = [
	['gemv.wgsl', gemv, GEMV_PARAMS],
	['rmsnorm.wgsl', rmsnorm, RMSNORM_PARAMS],
	['rope.wgsl', rope, ROPE_PARAMS],
	['rope.wgsl', rope, ROPE_KV_PARAMS],
	['gelu-gate.wgsl', geluGate, GELU_GATE_PARAMS],
	['lm-head.wgsl', lmHead, SOFTCAP_PARAMS],
	['adamw.wgsl', adamw, ADAMW_NORM_PARAMS],
	['adamw.wgsl', adamw, ADAMW_STEP_PARAMS],
	['attention.wgsl', attention, ATTENTION_PARAMS],
	['attention.wgsl', attention, KV_STORE_PARAMS],
	['cross-entropy.wgsl', crossEntropy, CROSS_ENTROPY_PARAMS],
	['embedding.wgsl', embedding, EMBEDDING_PARAMS],
	['lora.wgsl', lora, LORA_PARAMS],
	['matmul.wgsl', matmul, MATMUL_PARAMS],
	['matmul.wgsl', matmul, WGRAD_PARAMS],
	['sampling.wgsl', sampling, SAMPLING_PARAMS]
];

describe('uniform layouts match their WGSL structs', () => {
	for (const [file, code, layout] of CASES)
		it(`${file}: struct ${layout.struct}`, () => {
			expect(layout.fields.map(([n, t]) => [n, t])).toEqual(wgslStruct(code, layout.struct));
		});

	it('pack writes the fields in order, 4 bytes each, padded to 16', () => {
		const bytes = new DataView(
			GEMV_PARAMS.pack({
				M: 1,
				N: 2,
				K: 3,
				ldy: 4,
				yOffset: 5,
				accumulate: 0,
				n1: 2,
				n2: 2,
				cap: 30
			})
		);
		expect(bytes.byteLength).toBe(48);
		expect(bytes.getUint32(4, true)).toBe(2);
		expect(bytes.getFloat32(32, true)).toBe(30);
	});
});
