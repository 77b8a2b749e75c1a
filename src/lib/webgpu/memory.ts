/**
 * GpuMemory: the one place GPU buffers are created and destroyed.
 *
 * Every allocation carries a label and a purpose so the app can show where the memory goes
 * (weights, KV cache, activations, LoRA, optimizer state, scratch) and so leaks show up as a
 * growing `current`. Groups of buffers are declared as a MemoryPlan (a typed record of sizes,
 * keyed by the field names the code uses) and allocated at once with `allocPlan`; `describe()`
 * answers "where did the bytes go" in one line per group.
 *
 * The engine and the backward also hand their GpuMemory to the kernels that keep buffers of their
 * own (attention's split scratch, grown on demand; rope's inverse-frequency tables), which count them
 * as 'scratch'. Made elsewhere, on purpose (not counted here): ComputeKernel's uniform buffers and
 * UniformSlots (kernel.ts, tens of bytes each, cached per device), and readF32's transient
 * MAP_READ staging below.
 */

export type MemoryPurpose =
	'weights' | 'kv-cache' | 'activations' | 'lora' | 'optimizer' | 'scratch';

export interface MemoryEntry {
	label: string;
	purpose: MemoryPurpose;
	size: number;
	/** What describe() sums it under: its plan's name, else the label's first part ("layers"). */
	group: string;
}

/** One planned buffer: its f32 (or u32) element count, or a MAP_READ readback of that many. */
export type BufferSpec = number | { readback: number };

/**
 * A typed memory plan: one buffer per field, sized before anything is allocated (so an estimate
 * and the allocation are the same numbers). `name` prefixes the buffers' labels.
 */
export class MemoryPlan<K extends string> {
	constructor(
		readonly name: string,
		readonly purpose: MemoryPurpose,
		readonly specs: Readonly<Record<K, BufferSpec>>
	) {}

	/** Bytes per field, as GpuMemory allocates them. */
	get bytes(): Record<K, number> {
		const out = {} as Record<K, number>;
		for (const key of this.keys()) out[key] = bufferBytes(elements(this.specs[key]) * 4);
		return out;
	}

	/** Bytes of the whole plan. */
	get total(): number {
		return Object.values<number>(this.bytes).reduce((a, b) => a + b, 0);
	}

	keys(): K[] {
		return Object.keys(this.specs) as K[];
	}
}

/** The buffers GpuMemory.allocPlan gives for a plan: one per field. */
export type PlanBuffers<P> = P extends MemoryPlan<infer K> ? Record<K, GPUBuffer> : never;

/** A MemoryPlan of `specs` (see BufferSpec), its buffers labelled `${name}.${field}`. */
export function memoryPlan<S extends Record<string, BufferSpec>>(
	name: string,
	purpose: MemoryPurpose,
	specs: S
): MemoryPlan<keyof S & string> {
	return new MemoryPlan(name, purpose, specs);
}

/** A label's first part: "layers.3.q_proj.qweight" → "layers", "kv-cache.k[0]" → "kv-cache". */
const labelGroup = (label: string) => label.split(/[.[]/)[0];
const elements = (spec: BufferSpec) => (typeof spec === 'number' ? spec : spec.readback);
const bufferBytes = (size: number) => Math.max(4, Math.ceil(size / 4) * 4);
const STORAGE_USAGE = () =>
	GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const READBACK_USAGE = () => GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;

/** "1,234.5 MB" (10⁶ bytes, as the bench and the Train page count). */
export function formatMB(bytes: number): string {
	const mb = bytes / 1e6;
	return `${mb.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} MB`;
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
		purpose: MemoryPurpose,
		group = labelGroup(label)
	): GPUBuffer {
		const bytes = bufferBytes(size);
		const buf = this.device.createBuffer({ label, size: bytes, usage });
		this.live.set(buf, { label, purpose, size: bytes, group });
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
		const bytes = bufferBytes(data.byteLength);
		const buf = this.device.createBuffer({ label, size: bytes, usage, mappedAtCreation: true });
		new Uint8Array(buf.getMappedRange()).set(
			new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
		);
		buf.unmap();
		this.live.set(buf, { label, purpose, size: bytes, group: labelGroup(label) });
		this.cur += bytes;
		if (this.cur > this.peakBytes) this.peakBytes = this.cur;
		return buf;
	}

	/**
	 * Every buffer of `plan`, as a record with the plan's fields: storage buffers (STORAGE,
	 * COPY_SRC, COPY_DST), and MAP_READ | COPY_DST ones for `{ readback }` fields.
	 */
	allocPlan<K extends string>(plan: MemoryPlan<K>): Record<K, GPUBuffer> {
		const out = {} as Record<K, GPUBuffer>;
		for (const key of plan.keys()) {
			const spec = plan.specs[key];
			const usage = typeof spec === 'number' ? STORAGE_USAGE() : READBACK_USAGE();
			const label = `${plan.name}.${key}`;
			out[key] = this.alloc(label, elements(spec) * 4, usage, plan.purpose, plan.name);
		}
		return out;
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

	/**
	 * Where the live bytes go, in one line: the total, then each group of buffers (see
	 * MemoryEntry.group) with its purpose, largest first, e.g. "1,905.2 MB live (peak 2,010 MB);
	 * weights layers 1,330.1 MB (390); kv-cache kv-cache 436.2 MB (52); activations backward.ckpt
	 * 122.7 MB (26); …".
	 */
	describe(): string {
		const groups = new Map<string, { bytes: number; n: number }>();
		for (const e of this.live.values()) {
			const key = `${e.purpose} ${e.group}`;
			const g = groups.get(key) ?? { bytes: 0, n: 0 };
			g.bytes += e.size;
			g.n++;
			groups.set(key, g);
		}
		const rows = [...groups]
			.sort((a, b) => b[1].bytes - a[1].bytes)
			.map(([key, g]) => `${key} ${formatMB(g.bytes)}${g.n > 1 ? ` (${g.n})` : ''}`);
		const head = `${formatMB(this.cur)} live (peak ${formatMB(this.peakBytes)})`;
		return [head, ...rows].join('; ');
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
