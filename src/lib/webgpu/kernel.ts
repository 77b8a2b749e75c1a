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
	readonly pipeline: GPUComputePipeline;

	constructor(
		readonly device: GPUDevice,
		readonly source: KernelSource
	) {
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
		this.pipeline = pipeline;
	}

	/**
	 * Encode one dispatch. `buffers` are bound to group(0) in order: binding i = buffers[i].
	 * `uniforms`, when given, is written into a fresh small uniform buffer bound after them.
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
			entries.push({
				binding: buffers.length,
				resource: { buffer: uniformBuffer(this.device, bytes) }
			});
		}
		const bindGroup = this.device.createBindGroup({
			layout: this.pipeline.getBindGroupLayout(0),
			entries
		});
		const pass = encoder.beginComputePass({ label: this.source.label });
		pass.setPipeline(this.pipeline);
		pass.setBindGroup(0, bindGroup);
		const [x, y = 1, z = 1] = workgroups;
		pass.dispatchWorkgroups(x, y, z);
		pass.end();
	}
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
