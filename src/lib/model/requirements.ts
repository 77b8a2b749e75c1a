/**
 * What the default model costs and whether this machine can run it, checked before anything is
 * downloaded. Figures are the studio's own (docs/BENCHMARKS.md): Gemma-2 2B q4f16_1 is 1.47 GB of
 * weights plus its tokenizer; chat at 4,096 tokens needs the weights, an f16 KV cache of 436 MB and
 * activations (≈ 1.9 GB); LoRA training at 512 tokens ≈ 2.2 GB. Browsers do not say how much GPU
 * memory there is: `navigator.deviceMemory` (RAM, rounded down, capped at 8 GiB) is the only
 * estimate, and on integrated GPUs the model lives in that RAM.
 */
import type { GpuReport } from '../worker/api';

export interface ModelNeeds {
	/** Bytes a first download fetches (weights + tokenizer + configs). */
	downloadBytes: number;
	/** GPU memory for chat (weights + KV cache + activations). */
	chatBytes: number;
	/** GPU memory for LoRA training at 512 tokens. */
	trainingBytes: number;
	/** The engine splits what exceeds a binding, but not below WebGPU's own defaults. */
	minStorageBindingBytes: number;
	minBufferBytes: number;
}

const MiB = 2 ** 20;

export const GEMMA2_2B_NEEDS: ModelNeeds = {
	downloadBytes: 1.5e9,
	chatBytes: 1.9e9,
	trainingBytes: 2.2e9,
	minStorageBindingBytes: 128 * MiB,
	minBufferBytes: 256 * MiB
};

/** One line of the check: `ok` null when the browser cannot tell. */
export interface MachineCheckItem {
	id: 'webgpu' | 'storageBinding' | 'buffer' | 'memory' | 'hardware' | 'shaderF16';
	ok: boolean | null;
	params: Record<string, string | number>;
}

export interface MachineCheck {
	/** cannot: something required is missing; slow: runs, but on a software GPU; ok: go ahead. */
	verdict: 'ok' | 'slow' | 'cannot';
	items: MachineCheckItem[];
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|basic render/i;

/**
 * @param report the engine worker's WebGPU report
 * @param deviceMemoryGiB `navigator.deviceMemory` when the browser gives it
 */
export function checkMachine(
	report: GpuReport,
	deviceMemoryGiB: number | undefined,
	needs: ModelNeeds = GEMMA2_2B_NEEDS
): MachineCheck {
	const items: MachineCheckItem[] = [];
	items.push({ id: 'webgpu', ok: report.available, params: { reason: report.reason ?? '' } });
	if (!report.available) return { verdict: 'cannot', items };
	const { maxStorageBufferBindingSize: binding, maxBufferSize: buffer } = report.limits;
	items.push({
		id: 'storageBinding',
		ok: binding >= needs.minStorageBindingBytes,
		params: { have: binding, need: needs.minStorageBindingBytes }
	});
	items.push({
		id: 'buffer',
		ok: buffer >= needs.minBufferBytes,
		params: { have: buffer, need: needs.minBufferBytes }
	});
	// RAM below what chat needs plus the browser's own (≈ 1 GiB) cannot hold the model
	const memoryOk =
		deviceMemoryGiB === undefined ? null : deviceMemoryGiB * 2 ** 30 >= needs.chatBytes + 2 ** 30;
	items.push({
		id: 'memory',
		ok: memoryOk,
		params: { have: (deviceMemoryGiB ?? 0) * 2 ** 30, need: needs.chatBytes }
	});
	const adapter = report.adapter;
	const name = [adapter?.vendor, adapter?.architecture, adapter?.description, adapter?.device]
		.filter(Boolean)
		.join(' ');
	const software = SOFTWARE_ADAPTER.test(name);
	items.push({ id: 'hardware', ok: !software, params: { name: name || '—' } });
	items.push({ id: 'shaderF16', ok: report.features.shaderF16, params: {} });
	const required = items.filter((i) => i.id !== 'hardware' && i.id !== 'shaderF16');
	const verdict = required.some((i) => i.ok === false) ? 'cannot' : software ? 'slow' : 'ok';
	return { verdict, items };
}

/** Seconds to download `bytes` at `megabitsPerSecond`; null when the speed is unknown. */
export function downloadSeconds(
	bytes: number,
	megabitsPerSecond: number | undefined
): number | null {
	if (!megabitsPerSecond || !(megabitsPerSecond > 0)) return null;
	return (bytes * 8) / (megabitsPerSecond * 1e6);
}
