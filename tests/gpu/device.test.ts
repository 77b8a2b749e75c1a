import { describe, expect, it } from 'vitest';
import { requestEngineDevice } from '../../src/lib/webgpu/device';
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
			expect(m.report()).toEqual([{ label: 'b', purpose: 'kv-cache', size: 8 }]);
			m.free(b);
			expect(m.current).toBe(0);
		} finally {
			ed.device.destroy();
		}
	});
});
