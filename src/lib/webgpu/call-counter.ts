/**
 * Counts the WebGPU calls a piece of engine code makes — machine-independent figures of its
 * structure (issue 13): dispatches, compute passes, submits, readbacks, bind groups and buffers
 * created, copies. The methods are wrapped on the prototypes of GPUDevice, GPUQueue,
 * GPUCommandEncoder and GPUComputePassEncoder between `install()` and `uninstall()` of a
 * GpuCallCounter, so the real engine is measured, not a model of it. Install it before the code
 * under test creates its buffers and bind groups (the bound bytes need them), `reset()` before the
 * window to count (e.g. one steady-state token), read `counts` after.
 *
 * `dryDispatches = true` drops the dispatches (they are counted, not encoded): the code runs its whole
 * control flow with its real buffers and bind groups but computes nothing, which lets a software
 * adapter count a 2B-shaped decode token or training step in seconds. Outputs are then garbage;
 * only the counts mean something.
 */

export interface GpuCallCounts {
	dispatches: number;
	computePasses: number;
	submits: number;
	/** Command buffers submitted (a submit may carry several). */
	commandBuffers: number;
	/** mapAsync calls (readbacks to the CPU). */
	readbacks: number;
	bindGroupsCreated: number;
	buffersCreated: number;
	/** Bytes of the buffers created. */
	bufferBytesCreated: number;
	copies: number;
	copyBytes: number;
	writeBuffers: number;
	writeBufferBytes: number;
	/** Dispatches per compute pipeline label. */
	dispatchesByPipeline: Record<string, number>;
	/**
	 * Bytes of the buffer ranges bound per dispatch, summed by pipeline label, then by the buffer's
	 * label (an upper bound of what the dispatches touch: a kernel may read only part of a
	 * binding, e.g. one row of the embedding or the filled part of the KV cache).
	 */
	boundBytes: Record<string, Record<string, number>>;
}

export function emptyCounts(): GpuCallCounts {
	return {
		dispatches: 0,
		computePasses: 0,
		submits: 0,
		commandBuffers: 0,
		readbacks: 0,
		bindGroupsCreated: 0,
		buffersCreated: 0,
		bufferBytesCreated: 0,
		copies: 0,
		copyBytes: 0,
		writeBuffers: 0,
		writeBufferBytes: 0,
		dispatchesByPipeline: {},
		boundBytes: {}
	};
}

type Method = (...args: never[]) => unknown;
type Patch = [proto: object, name: string, original: Method];

/** The byte ranges a bind group binds: [buffer label, bytes]. */
const bindGroupRanges = new WeakMap<GPUBindGroup, [string, number][]>();

function bindingBytes(e: GPUBindGroupEntry): [string, number] | null {
	const r = e.resource as GPUBufferBinding;
	if (!r || typeof r !== 'object' || !('buffer' in r)) return null;
	const b = r.buffer;
	return [b.label || '(unlabelled)', r.size ?? b.size - (r.offset ?? 0)];
}

/** See the module comment. One counter installed at a time. */
export class GpuCallCounter {
	counts = emptyCounts();
	/** Count dispatches without encoding them (the code computes nothing). */
	dryDispatches = false;
	private patches: Patch[] = [];

	reset(): void {
		this.counts = emptyCounts();
	}

	uninstall(): void {
		for (const [proto, name, original] of this.patches.reverse())
			(proto as Record<string, Method>)[name] = original;
		this.patches = [];
	}

	install(): this {
		if (this.patches.length) throw new Error('GpuCallCounter: already installed');
		const self = this;
		const patches = this.patches;
		const wrap = <P extends object>(
			proto: P,
			name: string,
			make: (original: Method) => Method
		): void => {
			const original = (proto as Record<string, Method>)[name];
			patches.push([proto, name, original]);
			(proto as Record<string, Method>)[name] = make(original);
		};
		const passPipeline = new WeakMap<GPUComputePassEncoder, string>();
		const passGroups = new WeakMap<GPUComputePassEncoder, GPUBindGroup[]>();

		/** Counts a call from its arguments, then makes it unchanged. */
		const observe = <T>(
			proto: T,
			name: string,
			count: (target: T, args: unknown[]) => void
		): void =>
			wrap(
				proto as object,
				name,
				(f) =>
					function (this: T, ...args: unknown[]) {
						count(this, args);
						return (f as (...a: unknown[]) => unknown).apply(this, args);
					}
			);

		observe(GPUDevice.prototype, 'createBuffer', (_, [d]) => {
			self.counts.buffersCreated++;
			self.counts.bufferBytesCreated += (d as GPUBufferDescriptor).size;
		});
		wrap(
			GPUDevice.prototype,
			'createBindGroup',
			(f) =>
				function (this: GPUDevice, d: GPUBindGroupDescriptor) {
					self.counts.bindGroupsCreated++;
					const g = (f as (d: GPUBindGroupDescriptor) => GPUBindGroup).call(this, d);
					const ranges = [...d.entries].map(bindingBytes).filter((x) => x !== null);
					bindGroupRanges.set(g, ranges);
					return g;
				}
		);
		wrap(
			GPUQueue.prototype,
			'submit',
			(f) =>
				function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
					const list = [...buffers];
					self.counts.submits++;
					self.counts.commandBuffers += list.length;
					return (f as (b: GPUCommandBuffer[]) => void).call(this, list);
				}
		);
		observe(GPUQueue.prototype, 'writeBuffer', (_, args) => {
			self.counts.writeBuffers++;
			const data = args[2] as ArrayBufferView | ArrayBuffer;
			const size = args[4] as number | undefined;
			const elem = ArrayBuffer.isView(data)
				? ((data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1)
				: 1;
			self.counts.writeBufferBytes += size !== undefined ? size * elem : data.byteLength;
		});
		observe(GPUBuffer.prototype, 'mapAsync', () => self.counts.readbacks++);
		observe(GPUCommandEncoder.prototype, 'beginComputePass', () => self.counts.computePasses++);
		observe(GPUCommandEncoder.prototype, 'copyBufferToBuffer', (_, args) => {
			self.counts.copies++;
			// (src, srcOffset, dst, dstOffset, size) or (src, dst, size?)
			const size = args.length >= 5 ? (args[4] as number) : (args[2] as number | undefined);
			self.counts.copyBytes += size ?? (args[0] as GPUBuffer).size;
		});
		observe(GPUComputePassEncoder.prototype, 'setPipeline', (pass, [p]) =>
			passPipeline.set(pass, (p as GPUComputePipeline).label || '(unlabelled)')
		);
		observe(GPUComputePassEncoder.prototype, 'setBindGroup', (pass, args) => {
			const groups = passGroups.get(pass) ?? [];
			groups[args[0] as number] = args[1] as GPUBindGroup;
			passGroups.set(pass, groups);
		});
		wrap(
			GPUComputePassEncoder.prototype,
			'dispatchWorkgroups',
			(f) =>
				function (this: GPUComputePassEncoder, x: number, y?: number, z?: number) {
					self.counts.dispatches++;
					const label = passPipeline.get(this) ?? '(unknown)';
					self.counts.dispatchesByPipeline[label] =
						(self.counts.dispatchesByPipeline[label] ?? 0) + 1;
					const bound = (self.counts.boundBytes[label] ??= {});
					for (const g of passGroups.get(this) ?? [])
						for (const [name, bytes] of (g && bindGroupRanges.get(g)) || [])
							bound[name] = (bound[name] ?? 0) + bytes;
					if (self.dryDispatches) return;
					return (f as (x: number, y?: number, z?: number) => void).call(this, x, y, z);
				}
		);
		return this;
	}
}

/** Runs `run` with its WebGPU calls counted (a counter installed around it). */
export async function countGpuCalls<T>(
	run: () => Promise<T>,
	opts: { dryDispatches?: boolean } = {}
): Promise<{ counts: GpuCallCounts; result: T }> {
	const counter = new GpuCallCounter().install();
	counter.dryDispatches = opts.dryDispatches ?? false;
	try {
		const result = await run();
		return { counts: counter.counts, result };
	} finally {
		counter.uninstall();
	}
}
