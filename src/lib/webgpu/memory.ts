/**
 * GpuMemory: the one place GPU buffers are created and destroyed.
 *
 * Every allocation carries a label and a purpose so the app can show where the
 * memory goes (weights vs KV cache vs activations vs, later, LoRA/optimizer
 * state) and so leaks show up as a growing `current`.
 */

export type MemoryPurpose =
	'weights' | 'kv-cache' | 'activations' | 'lora' | 'optimizer' | 'scratch';

export interface MemoryEntry {
	label: string;
	purpose: MemoryPurpose;
	size: number;
}

export class GpuMemory {
	private readonly live = new Map<GPUBuffer, MemoryEntry>();
	private cur = 0;
	private peakBytes = 0;

	constructor(readonly device: GPUDevice) {}

	/** Creates a buffer. Size is rounded up to a multiple of 4 (WebGPU needs it for mapping/copies). */
	alloc(
		label: string,
		size: number,
		usage: GPUBufferUsageFlags,
		purpose: MemoryPurpose
	): GPUBuffer {
		const bytes = Math.max(4, Math.ceil(size / 4) * 4);
		const buf = this.device.createBuffer({ label, size: bytes, usage });
		this.live.set(buf, { label, purpose, size: bytes });
		this.cur += bytes;
		if (this.cur > this.peakBytes) this.peakBytes = this.cur;
		return buf;
	}

	/** Creates a buffer initialised with `data` (via mappedAtCreation, no staging copy). */
	allocWith(
		label: string,
		data: ArrayBufferView,
		usage: GPUBufferUsageFlags,
		purpose: MemoryPurpose
	): GPUBuffer {
		const bytes = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
		const buf = this.device.createBuffer({ label, size: bytes, usage, mappedAtCreation: true });
		new Uint8Array(buf.getMappedRange()).set(
			new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
		);
		buf.unmap();
		this.live.set(buf, { label, purpose, size: bytes });
		this.cur += bytes;
		if (this.cur > this.peakBytes) this.peakBytes = this.cur;
		return buf;
	}

	/** Destroys a buffer allocated here. Freeing an unknown or already-freed buffer is a no-op. */
	free(buf: GPUBuffer | null | undefined): void {
		if (!buf) return;
		const e = this.live.get(buf);
		if (!e) return;
		this.live.delete(buf);
		this.cur -= e.size;
		buf.destroy();
	}

	/** Frees every buffer of a purpose (e.g. all 'activations' when the engine is re-sized). */
	freePurpose(purpose: MemoryPurpose): void {
		for (const [buf, e] of [...this.live]) if (e.purpose === purpose) this.free(buf);
	}

	/** Frees everything. */
	freeAll(): void {
		for (const buf of [...this.live.keys()]) this.free(buf);
	}

	/** One entry per live buffer. */
	report(): MemoryEntry[] {
		return [...this.live.values()].map((e) => ({ ...e }));
	}

	/** Live bytes per purpose. */
	byPurpose(): Record<MemoryPurpose, number> {
		const out: Record<MemoryPurpose, number> = {
			weights: 0,
			'kv-cache': 0,
			activations: 0,
			lora: 0,
			optimizer: 0,
			scratch: 0
		};
		for (const e of this.live.values()) out[e.purpose] += e.size;
		return out;
	}

	/** Live bytes. */
	get current(): number {
		return this.cur;
	}

	/** High-water mark of live bytes. */
	get peak(): number {
		return this.peakBytes;
	}

	/** Starts a new high-water mark from the live bytes (e.g. one phase's peak). */
	resetPeak(): void {
		this.peakBytes = this.cur;
	}
}

/** Copies `floats` f32 values from a GPU buffer (offset 0) back to the CPU (tests, checkpoints, reports). */
export async function readF32(
	device: GPUDevice,
	buf: GPUBuffer,
	floats: number,
	label = 'readback'
): Promise<Float32Array> {
	const staging = device.createBuffer({
		label,
		size: floats * 4,
		usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST
	});
	const enc = device.createCommandEncoder();
	enc.copyBufferToBuffer(buf, 0, staging, 0, floats * 4);
	device.queue.submit([enc.finish()]);
	await staging.mapAsync(GPUMapMode.READ);
	const out = new Float32Array(staging.getMappedRange().slice(0));
	staging.destroy();
	return out;
}
