import { describe, expect, it } from 'vitest';
import { checkMachine, downloadSeconds, GEMMA2_2B_NEEDS } from '../../src/lib/model/requirements';
import { classifyLoadError } from '../../src/lib/model/load-errors';
import { ModelFormatError } from '../../src/lib/model/config';
import type { GpuReport } from '../../src/lib/worker/api';

const MiB = 2 ** 20;
const gpu = (over: Partial<GpuReport> = {}): GpuReport => ({
	available: true,
	adapter: { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'RTX 3060' },
	features: { shaderF16: true, subgroups: true, all: [] },
	paths: { storage: 'f16', f16: ['attention', 'gemv', 'gemm'], subgroups: true },
	limits: {
		maxBufferSize: 2048 * MiB,
		maxStorageBufferBindingSize: 2048 * MiB,
		maxComputeWorkgroupStorageSize: 32768,
		maxComputeInvocationsPerWorkgroup: 256
	},
	...over
});
const item = (check: ReturnType<typeof checkMachine>, id: string) =>
	check.items.find((i) => i.id === id);

describe('machine check before the first download', () => {
	it('says yes on a GPU with the limits and memory the model needs', () => {
		const check = checkMachine(gpu(), 8);
		expect(check.verdict).toBe('ok');
		expect(check.items.every((i) => i.ok !== false)).toBe(true);
	});

	it('says no without WebGPU, and why', () => {
		const check = checkMachine(gpu({ available: false, reason: 'no adapter' }), 8);
		expect(check.verdict).toBe('cannot');
		expect(check.items).toEqual([{ id: 'webgpu', ok: false, params: { reason: 'no adapter' } }]);
	});

	it('says no when a limit is below what the engine needs, naming the limit', () => {
		const small = gpu();
		small.limits.maxStorageBufferBindingSize = 64 * MiB;
		const check = checkMachine(small, 8);
		expect(check.verdict).toBe('cannot');
		expect(item(check, 'storageBinding')).toMatchObject({
			ok: false,
			params: { have: 64 * MiB, need: GEMMA2_2B_NEEDS.minStorageBindingBytes }
		});
	});

	it('says no when the memory the browser reports cannot hold chat, unknown when it says nothing', () => {
		expect(checkMachine(gpu(), 2).verdict).toBe('cannot');
		expect(item(checkMachine(gpu(), 2), 'memory')?.ok).toBe(false);
		const unknown = checkMachine(gpu(), undefined);
		expect(unknown.verdict).toBe('ok');
		expect(item(unknown, 'memory')?.ok).toBeNull();
	});

	it('runs but slowly on a software adapter; shader-f16 is optional', () => {
		const soft = gpu({
			adapter: { vendor: 'google', architecture: 'swiftshader', device: '', description: '' },
			features: { shaderF16: false, subgroups: true, all: [] }
		});
		const check = checkMachine(soft, 8);
		expect(check.verdict).toBe('slow');
		expect(item(check, 'shaderF16')?.ok).toBe(false);
	});

	it('estimates the download time from a speed, none without one', () => {
		expect(downloadSeconds(1.5e9, 100)).toBeCloseTo(120);
		expect(downloadSeconds(1.5e9, undefined)).toBeNull();
		expect(downloadSeconds(1.5e9, 0)).toBeNull();
	});
});

describe('load errors sorted into what a person can act on', () => {
	const cases: [unknown, string][] = [
		[
			new ModelFormatError(
				'config.json',
				null,
				'could not download https://huggingface.co/x/y/resolve/main/config.json: Failed to fetch'
			),
			'offline'
		],
		[new TypeError('NetworkError when attempting to fetch resource.'), 'offline'],
		[new ModelFormatError('config.json', null, 'file not found in a/b@main (hub)'), 'notFound'],
		[new ModelFormatError('model.safetensors', null, 'HTTP 403 for https://x'), 'denied'],
		[new DOMException('quota exceeded', 'QuotaExceededError'), 'storage'],
		[new ModelFormatError('config.json', 'hidden_size', 'expected a number'), 'format'],
		[new Error('GPU device was lost: destroyed'), 'gpu'],
		[new Error('weird'), 'unknown']
	];
	for (const [error, kind] of cases)
		it(`${String((error as Error).message).slice(0, 40)} → ${kind}`, () => {
			const info = classifyLoadError(error);
			expect(info.kind).toBe(kind);
			expect(info.detail).toContain((error as Error).message);
		});
});
