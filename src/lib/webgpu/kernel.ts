/**
 * The one way a WGSL kernel is turned into something you can dispatch. Every `kernels/<op>.ts`
 * builds its pipelines through `ComputeKernel` so pipelines are compiled once per device and
 * uniform parameters are packed the same way everywhere.
 *
 * Convention for kernels: `kernels/<op>.wgsl` holds the forward entry points and, beside them,
 * the backward ones; `kernels/<op>.ts` exports a class that takes a GPUDevice, owns its
 * pipelines, and encodes dispatches into a caller's GPUCommandEncoder (never submits itself).
 */

const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export interface KernelSource {
	/** Label used in errors and GPU debugging. */
	label: string;
	code: string;
	entryPoint: string;
	/** Pipeline-overridable constants (workgroup sizes, tile sizes). */
	constants?: Record<string, number>;
}

export class ComputeKernel {
	private compiled: GPUComputePipeline | null = null;

	constructor(
		readonly device: GPUDevice,
		readonly source: KernelSource
	) {}

	/**
	 * The pipeline, compiled on first use (and shared per device): a kernel class makes all its
	 * variants up front, most of which a given run never dispatches (inference never runs the
	 * backward), and compiling costs (SwiftShader: about a second a pipeline).
	 */
	get pipeline(): GPUComputePipeline {
		if (this.compiled) return this.compiled;
		const { device, source } = this;
		let cache = pipelineCache.get(device);
		if (!cache) pipelineCache.set(device, (cache = new Map()));
		const key = `${source.label}:${source.entryPoint}:${JSON.stringify(source.constants ?? {})}:${source.code.length}`;
		let pipeline = cache.get(key);
		if (!pipeline) {
			const module = device.createShaderModule({ label: source.label, code: source.code });
			pipeline = device.createComputePipeline({
				label: `${source.label}.${source.entryPoint}`,
				layout: 'auto',
				compute: { module, entryPoint: source.entryPoint, constants: source.constants }
			});
			cache.set(key, pipeline);
		}
		return (this.compiled = pipeline);
	}

	/**
	 * Bind groups are cached by the identity of the buffers (and ranges) they bind: a decode step
	 * re-binds the same weights, activations and (content-shared) uniform buffers every token, and
	 * createBindGroup is a noticeable part of the per-dispatch CPU cost. The cache is dropped when
	 * it grows past MAX_CACHED_BIND_GROUPS (e.g. per-position attention uniforms over a long chat).
	 */
	private readonly bindGroups = new Map<string, GPUBindGroup>();
	private layout: GPUBindGroupLayout | null = null;

	private bindGroup(entries: GPUBindGroupEntry[]): GPUBindGroup {
		let key = '';
		for (const e of entries) {
			const r = e.resource as GPUBufferBinding;
			key += `${bufferId(r.buffer)}:${r.offset ?? 0}:${r.size ?? ''};`;
		}
		let bg = this.bindGroups.get(key);
		if (!bg) {
			this.layout ??= this.pipeline.getBindGroupLayout(0);
			bg = this.device.createBindGroup({ layout: this.layout, entries });
			if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
			this.bindGroups.set(key, bg);
		}
		return bg;
	}

	/**
	 * Encode one dispatch. `buffers` are bound to group(0) in order: binding i = buffers[i].
	 * `uniforms`, when given, is bound after them in a small uniform buffer shared by content.
	 */
	dispatch(
		encoder: GPUCommandEncoder,
		buffers: (GPUBuffer | GPUBufferBinding)[],
		workgroups: [number, number?, number?],
		uniforms?: ArrayBuffer | ArrayBufferView
	): void {
		const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({
			binding: i,
			resource: b instanceof GPUBuffer ? { buffer: b } : b
		}));
		if (uniforms) {
			const bytes =
				uniforms instanceof ArrayBuffer
					? new Uint8Array(uniforms)
					: new Uint8Array(uniforms.buffer, uniforms.byteOffset, uniforms.byteLength);
			const slots = encoderSlots.get(encoder);
			entries.push({
				binding: buffers.length,
				resource: {
					buffer: slots
						? slots.take(`${this.source.label}.${this.source.entryPoint}`, bytes)
						: uniformBuffer(this.device, bytes)
				}
			});
		}
		const bindGroup = this.bindGroup(entries);
		const open = openPasses.get(encoder);
		const pass = open ?? encoder.beginComputePass({ label: this.source.label });
		pass.setPipeline(this.pipeline);
		pass.setBindGroup(0, bindGroup);
		const [x, y = 1, z = 1] = workgroups;
		pass.dispatchWorkgroups(x, y, z);
		if (!open) pass.end();
	}
}

/**
 * Optional batching: between beginComputePass(encoder) and endComputePass(encoder) every
 * ComputeKernel.dispatch on that encoder goes into one shared compute pass instead of a pass of
 * its own (a decoder layer is ~15 dispatches; a pass per dispatch costs CPU time per token).
 * WebGPU still orders the dispatches and makes each one's writes visible to the next. No copy
 * may be encoded on the encoder while the pass is open (end it first).
 */
const openPasses = new WeakMap<GPUCommandEncoder, GPUComputePassEncoder>();

export function beginComputePass(encoder: GPUCommandEncoder, label?: string): void {
	if (openPasses.has(encoder))
		throw new Error('beginComputePass: a pass is already open on this encoder');
	openPasses.set(encoder, encoder.beginComputePass({ label }));
}

export function endComputePass(encoder: GPUCommandEncoder): void {
	const pass = openPasses.get(encoder);
	if (!pass) throw new Error('endComputePass: no pass is open on this encoder');
	pass.end();
	openPasses.delete(encoder);
}

/**
 * Persistent uniform buffers for the dispatches of a repeated encoder (a decode token): with
 * useUniformSlots(encoder, slots), the n-th dispatch of a kernel entry point in that encoder takes
 * that kernel's n-th slot, a buffer kept across encoders and rewritten (queue.writeBuffer) only
 * when its parameters change — e.g. the position of RoPE and attention, once per token. The same
 * buffers (and so the same cached bind groups) serve every token: no buffer and no bind group is
 * created per steady-state token.
 *
 * Writes are ordered on the queue after the work already submitted and before the encoder's own
 * submit, so the rule is: submit an encoder that uses the slots before encoding the next one.
 */
export class UniformSlots {
	private readonly slots = new Map<string, { buffer: GPUBuffer; bytes: Uint8Array }[]>();
	private readonly taken = new Map<string, number>();

	constructor(readonly device: GPUDevice) {}

	/** Restarts the ordinals (a new encoder). */
	begin(): void {
		this.taken.clear();
	}

	/** The buffer of `key`'s next slot, holding `bytes`. */
	take(key: string, bytes: Uint8Array): GPUBuffer {
		const n = this.taken.get(key) ?? 0;
		this.taken.set(key, n + 1);
		let list = this.slots.get(key);
		if (!list) this.slots.set(key, (list = []));
		const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
		let slot = list[n];
		if (!slot || slot.buffer.size < size) {
			const buffer = this.device.createBuffer({
				label: 'uniform-slot',
				size,
				usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
			});
			list[n] = slot = { buffer, bytes: new Uint8Array(0) };
		}
		if (!sameBytes(slot.bytes, bytes)) {
			this.device.queue.writeBuffer(slot.buffer, 0, bytes);
			slot.bytes = bytes.slice();
		}
		return slot.buffer;
	}

	destroy(): void {
		for (const list of this.slots.values()) for (const s of list) s.buffer.destroy();
		this.slots.clear();
	}
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

const encoderSlots = new WeakMap<GPUCommandEncoder, UniformSlots>();

/** The dispatches encoded on `encoder` from now on take their uniforms from `slots`. */
export function useUniformSlots(encoder: GPUCommandEncoder, slots: UniformSlots): void {
	slots.begin();
	encoderSlots.set(encoder, slots);
}

const MAX_CACHED_BIND_GROUPS = 4096;
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
function bufferId(b: GPUBuffer): number {
	let id = bufferIds.get(b);
	if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
	return id;
}

/**
 * Uniform buffers are immutable and shared by content: a decode step dispatches the same
 * (M=1, N, K) matmul parameters hundreds of times per token, so the same 16–32 bytes map to the
 * same GPUBuffer instead of a fresh allocation per dispatch. Buffers are never rewritten (a
 * rewrite would race with encoded but unsubmitted work). Past MAX_CACHED_UNIFORMS distinct
 * contents (e.g. attention's per-position parameters over a long chat) new ones are created
 * uncached and left to the garbage collector, as before.
 */
const MAX_CACHED_UNIFORMS = 16384;
const uniformCache = new WeakMap<GPUDevice, Map<string, GPUBuffer>>();

function uniformBuffer(device: GPUDevice, bytes: Uint8Array): GPUBuffer {
	let cache = uniformCache.get(device);
	if (!cache) uniformCache.set(device, (cache = new Map()));
	let key = '';
	for (let i = 0; i < bytes.length; i++) key += String.fromCharCode(bytes[i]);
	let ub = cache.get(key);
	if (ub) return ub;
	const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
	ub = device.createBuffer({
		label: 'uniforms',
		size,
		usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST
	});
	device.queue.writeBuffer(ub, 0, bytes);
	if (cache.size < MAX_CACHED_UNIFORMS) cache.set(key, ub);
	return ub;
}

/** A scalar field of a WGSL uniform struct. */
export type UniformType = 'u32' | 'i32' | 'f32';

/**
 * A kernel's uniform struct, declared once on the TypeScript side: the field names and types in
 * WGSL order. `pack` takes the values by name; tests/unit/kernel-uniforms.test.ts checks each
 * layout against the struct of the same name in the kernel's WGSL text.
 */
export class UniformLayout<F extends string> {
	constructor(
		/** The WGSL struct's name. */
		readonly struct: string,
		readonly fields: readonly (readonly [F, UniformType])[]
	) {}

	pack(values: Record<F, number>): ArrayBuffer {
		return packUniforms(
			this.fields.map(([name, type]) => [type[0] as 'u' | 'i' | 'f', values[name]])
		);
	}
}

/** Pack uniform values: each entry is written as u32 ('u'), i32 ('i') or f32 ('f'), 4 bytes each. */
export function packUniforms(values: [type: 'u' | 'i' | 'f', value: number][]): ArrayBuffer {
	const buf = new ArrayBuffer(Math.max(16, Math.ceil((values.length * 4) / 16) * 16));
	const dv = new DataView(buf);
	values.forEach(([t, v], i) => {
		if (t === 'u') dv.setUint32(i * 4, v, true);
		else if (t === 'i') dv.setInt32(i * 4, v, true);
		else dv.setFloat32(i * 4, v, true);
	});
	return buf;
}

export function ceilDiv(a: number, b: number): number {
	return Math.floor((a + b - 1) / b);
}

/** A 2-D grid covering n elements in groups of `threads`, respecting the per-dimension limit. */
export function grid1d(device: GPUDevice, n: number, threads: number): [number, number] {
	const groups = Math.max(1, ceilDiv(n, threads));
	const gx = Math.min(groups, device.limits.maxComputeWorkgroupsPerDimension);
	return [gx, ceilDiv(groups, gx)];
}
