import { describe, expect, it } from 'vitest';
import { describeKernelPaths, kernelPaths } from '../../src/lib/webgpu/device';

describe('kernel paths', () => {
	it('f16 storage only with shader-f16, subgroups only with subgroups', () => {
		const on = (...f: string[]) => ({ features: new Set(f) as unknown as GPUSupportedFeatures });
		const f16 = ['attention', 'gemv', 'gemm'];
		expect(kernelPaths(on())).toEqual({ storage: 'f32', f16: [], subgroups: false });
		expect(kernelPaths(on('shader-f16'))).toEqual({ storage: 'f16', f16, subgroups: false });
		expect(kernelPaths(on('subgroups', 'shader-f16'))).toEqual({
			storage: 'f16',
			f16,
			subgroups: true
		});
		expect(describeKernelPaths(kernelPaths(on('subgroups', 'shader-f16')))).toBe(
			'f16 storage (f32 accumulation): attention, GEMV, GEMM; subgroups'
		);
		expect(describeKernelPaths(kernelPaths(on()))).toBe('f32 storage, no subgroups');
	});
});
