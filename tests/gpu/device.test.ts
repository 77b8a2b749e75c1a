import { describe, expect, it } from 'vitest';
import { gpuReport } from '../../src/lib/session/gpu-report';
import { describeKernelPaths, requestEngineDevice } from '../../src/lib/webgpu/device';
import { GpuMemory } from '../../src/lib/webgpu/memory';

describe('engine device', () => {
	it('raises the buffer limits to the adapter maximum and reports the adapter as plain JSON', async () => {
		const ed = await requestEngineDevice();
		try {
			expect(ed.device.limits.maxStorageBufferBindingSize).toBe(
				ed.adapter.limits.maxStorageBufferBindingSize
			);
			expect(ed.device.limits.maxBufferSize).toBe(ed.adapter.limits.maxBufferSize);
			const report = JSON.parse(JSON.stringify(ed.report));
			expect(report).toEqual(ed.report);
			expect(report.limits.maxStorageBufferBindingSize).toBe(
				ed.adapter.limits.maxStorageBufferBindingSize
			);
			expect(typeof report.features.shaderF16).toBe('boolean');
			console.log('adapter', JSON.stringify(report));
		} finally {
			ed.device.destroy();
		}
	});

	it('chooses the kernel paths from the features it enabled, shown in the GPU report', async () => {
		const ed = await requestEngineDevice();
		const bare = await requestEngineDevice({ without: ['shader-f16', 'subgroups'] });
		try {
			const f16 = ed.adapter.features.has('shader-f16');
			const subgroups = ed.adapter.features.has('subgroups');
			expect(ed.features).toEqual({ shaderF16: f16, subgroups });
			expect(ed.paths).toEqual({
				storage: f16 ? 'f16' : 'f32',
				f16: f16 ? ['attention', 'gemv', 'gemm'] : [],
				subgroups
			});
			expect(gpuReport(ed).paths).toEqual(ed.paths);
			expect(bare.device.features.has('shader-f16')).toBe(false);
			expect(bare.paths).toEqual({ storage: 'f32', f16: [], subgroups: false });
			console.log('kernel paths:', describeKernelPaths(ed.paths));
		} finally {
			ed.device.destroy();
			bare.device.destroy();
		}
	});

	it('reports device loss with its reason through `lost` and onLost', async () => {
		let seen: string | null = null;
		const ed = await requestEngineDevice({ onLost: (r) => (seen = r.reason) });
		ed.device.destroy();
		const lost = await ed.lost;
		expect(lost.reason).toBe('destroyed');
		expect(seen).toBe('destroyed');
	});
});

describe('GpuMemory', () => {
	it('tracks live bytes per purpose, the peak, and frees exactly once', async () => {
		const ed = await requestEngineDevice();
		try {
			const m = new GpuMemory(ed.device);
			const a = m.alloc('a', 1000, GPUBufferUsage.STORAGE, 'weights');
			const b = m.alloc('b', 6, GPUBufferUsage.STORAGE, 'kv-cache'); // rounded up to 8
			expect(m.current).toBe(1008);
			expect(m.byPurpose()).toMatchObject({ weights: 1000, 'kv-cache': 8 });
			m.free(a);
			m.free(a);
			expect(m.current).toBe(8);
			expect(m.peak).toBe(1008);
			expect(m.report()).toEqual([{ label: 'b', purpose: 'kv-cache', size: 8, group: 'b' }]);
			m.free(b);
			expect(m.current).toBe(0);
		} finally {
			ed.device.destroy();
		}
	});
});
