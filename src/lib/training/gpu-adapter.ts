/**
 * A LoRA adapter resident on the GPU: the engine's ProjectionHook (forward, y += s·B(A x̃)) and the
 * backward's LoraBackwardHook (dA, dB accumulation and dx += s·(dy B) A), by groups of projections
 * sharing their input (SharedBackwardHook: q | k | v and gate | up each in one kernel group — one
 * dispatch forward, two backward — and the fused decode's merged qkv and gelu-gate outputs).
 *
 * Memory picture (GpuMemory purposes 'lora' and 'scratch'):
 *   params  one flat f32 buffer per segment: every module's A [r, in] then B [out, r], each tensor
 *           starting at a binding-offset-aligned position (zero padding between). A segment holds
 *           as many whole tensors as fit one storage binding (Gemma 2B at r = 64 needs ~330 MB).
 *   grads   the same layout (only with { trainable: true }), so AdamW (kernels/adamw.ts) walks
 *           params, grads and its moments as the same flat arrays, padding included (always 0).
 *           Modules come in layer then projection order, so a group's tensors lie side by side
 *           in one segment (one binding serves the group; a group split over segments costs one
 *           kernel group per segment).
 *   u, g    [T, maxRank] scratch for A x̃ and dy B (maxRank: the largest rank sum of a group),
 *           grown when a longer sequence comes.
 *
 * Mixing several adapters for inference is done on the host (lora/adapter.ts mixAdapters: one
 * adapter whose rank is the sum of the ranks, exactly Σ w_i s_i B_i A_i) and uploaded as one:
 * one branch per projection costs one kernel pair whatever the number of adapters.
 *
 * lora_dropout (PEFT: nn.Dropout on the branch's input x) applies only while `training` is true;
 * the mask is a hash of (dropoutSeed, module, row, column), so set dropoutSeed per micro-batch and
 * give the backward the same rows the forward saw.
 */
import { readF32 } from '../webgpu/memory';
import type { ProjectionName } from '../model/weights';
import type {
	ProjectionOut,
	SharedBackwardArgs,
	SharedBackwardHook,
	SharedForwardArgs
} from '../webgpu/gemma2/projection-hook';
import {
	LoraKernel,
	LORA_MAX_MEMBERS,
	LORA_MAX_RANK,
	type Bindable,
	type LoraGroup,
	type LoraMember
} from '../webgpu/kernels/lora';
import type { GpuMemory } from '../webgpu/memory';
import type { LoraAdapter, LoraModule } from '../lora/adapter';
import { loraTensorName } from '../lora/tensor-names';

export type { LoraBackwardHook } from '../webgpu/gemma2/backward';

/** Read lazily, so the module can be imported where WebGPU is absent (Node tests). */
const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** One flat buffer of whole tensors (params, and grads with the same layout). */
export interface LoraSegment {
	params: GPUBuffer;
	grads: GPUBuffer | null;
	/** Length in floats (padding included). */
	floats: number;
}

/** Where one module's tensors live. Offsets in floats within segment `segment`. */
interface ModuleSlot {
	module: LoraModule;
	/** Position in layout order (mixed into the dropout seed). */
	index: number;
	segment: number;
	offsetA: number;
	offsetB: number;
}

/** Projections sharing one input, in the order a decoder layer computes them. */
const SHARED_INPUT: readonly (readonly ProjectionName[])[] = [
	['q_proj', 'k_proj', 'v_proj'],
	['o_proj'],
	['gate_proj', 'up_proj'],
	['down_proj']
];
const shareSet = (p: ProjectionName) => SHARED_INPUT.findIndex((s) => s.includes(p));

/** One kernel group: adapted modules of a share set in one segment; `at` indexes the caller's projs. */
interface KernelGroup {
	segment: number;
	/** First and past-the-last float of the group's tensors in the segment. */
	start: number;
	end: number;
	members: { slot: ModuleSlot; at: number }[];
}

export interface GpuLoraOptions {
	/** Allocate gradient buffers (training). Default false. */
	trainable?: boolean;
	/** Initial scratch rows (grown on demand). Default 128. */
	maxTokens?: number;
	/** Largest segment in bytes (tests force splits); default the device's binding limit. */
	maxSegmentBytes?: number;
}

export class GpuLoraAdapter implements SharedBackwardHook {
	readonly segments: LoraSegment[] = [];
	/** Apply lora_dropout (only when > 0). PEFT: module.train(). */
	training = false;
	/** Seed of the dropout mask; the trainer sets one per micro-batch. */
	dropoutSeed = 0;
	readonly dropout: number;
	readonly maxRank: number;
	/** The adapter's LoraConfig (r, alpha, targets…), as given. */
	readonly config: LoraAdapter['config'];

	private readonly kernel: LoraKernel;
	private readonly slots = new Map<string, ModuleSlot>();
	private readonly byLayerProj = new Map<string, ModuleSlot>();
	/** kernelGroups(layer, projs), by `${layer}/${projs}`. */
	private readonly groups = new Map<string, KernelGroup[]>();
	private scratchRows = 0;
	private u: GPUBuffer | null = null;
	private g: GPUBuffer | null = null;
	/** Outgrown scratch buffers: still referenced by encoded work, freed with the adapter. */
	private readonly retired: GPUBuffer[] = [];
	private destroyed = false;

	constructor(
		readonly device: GPUDevice,
		readonly memory: GpuMemory,
		adapter: LoraAdapter,
		opts: GpuLoraOptions = {}
	) {
		this.kernel = new LoraKernel(device);
		this.config = structuredClone(adapter.config);
		this.dropout = adapter.config.lora_dropout ?? 0;
		const align = Math.max(1, device.limits.minStorageBufferOffsetAlignment / 4);
		const maxBinding = Math.min(
			device.limits.maxStorageBufferBindingSize,
			device.limits.maxBufferSize,
			opts.maxSegmentBytes ?? Infinity
		);
		const maxFloats = Math.floor(maxBinding / 4 / align) * align;
		const roundUp = (n: number) => Math.ceil(n / align) * align;
		// Lay the tensors out, segment by segment.
		const layout: { floats: number; slots: ModuleSlot[] }[] = [{ floats: 0, slots: [] }];
		const rankSums = new Map<string, number>();
		for (const m of adapter.modules.values()) {
			const need = roundUp(m.r * m.in) + roundUp(m.out * m.r);
			if (need > maxFloats)
				throw new Error(`GpuLoraAdapter: ${m.name} (${need * 4} bytes) exceeds one binding`);
			let seg = layout[layout.length - 1];
			if (seg.floats + need > maxFloats) layout.push((seg = { floats: 0, slots: [] }));
			const slot: ModuleSlot = {
				module: { ...m, A: m.A, B: m.B },
				index: this.slots.size,
				segment: layout.length - 1,
				offsetA: seg.floats,
				offsetB: seg.floats + roundUp(m.r * m.in)
			};
			seg.floats += need;
			seg.slots.push(slot);
			this.slots.set(m.name, slot);
			this.byLayerProj.set(`${m.layer}/${m.proj}`, slot);
			const set = `${m.layer}/${shareSet(m.proj)}`;
			rankSums.set(set, (rankSums.get(set) ?? 0) + m.r);
		}
		this.maxRank = Math.min(LORA_MAX_RANK, Math.max(1, ...rankSums.values()));
		for (let s = 0; s < layout.length; s++) {
			const floats = Math.max(layout[s].floats, align);
			const host = new Float32Array(floats);
			for (const slot of layout[s].slots) {
				host.set(slot.module.A, slot.offsetA);
				host.set(slot.module.B, slot.offsetB);
			}
			this.segments.push({
				params: this.memory.allocWith(`lora.params.${s}`, host, storage(), 'lora'),
				grads: opts.trainable
					? this.memory.alloc(`lora.grads.${s}`, floats * 4, storage(), 'lora')
					: null,
				floats
			});
		}
		// the host copies are not kept: download() reads the GPU's
		for (const slot of this.slots.values()) {
			slot.module.A = new Float32Array(0);
			slot.module.B = new Float32Array(0);
		}
		this.ensureScratch(opts.maxTokens ?? 128);
	}

	get trainable(): boolean {
		return this.segments.every((s) => s.grads !== null);
	}

	/** Total trainable parameters (without padding). */
	get parameterCount(): number {
		let n = 0;
		for (const { module: m } of this.slots.values()) n += m.r * (m.in + m.out);
		return n;
	}

	/** Module names in layout order. */
	get moduleNames(): string[] {
		return [...this.slots.keys()];
	}

	private ensureScratch(T: number): void {
		if (T <= this.scratchRows) return;
		const rows = Math.max(T, this.scratchRows * 2);
		if (this.u) this.retired.push(this.u, this.g!);
		this.u = this.memory.alloc('lora.u', rows * this.maxRank * 4, storage(), 'scratch');
		this.g = this.memory.alloc('lora.g', rows * this.maxRank * 4, storage(), 'scratch');
		this.scratchRows = rows;
	}

	private binding(buf: GPUBuffer, offset: number, floats: number): GPUBufferBinding {
		return { buffer: buf, offset: offset * 4, size: floats * 4 };
	}

	/**
	 * The adapted modules among `projs` (which share their input) as kernel groups: consecutive
	 * modules of one segment, at most LORA_MAX_MEMBERS of them and LORA_MAX_RANK ranks in all.
	 */
	private kernelGroups(layer: number, projs: readonly ProjectionName[]): KernelGroup[] {
		this.check();
		const key = `${layer}/${projs.join()}`;
		let groups = this.groups.get(key);
		if (groups) return groups;
		groups = [];
		let cur: KernelGroup | undefined;
		let ranks = 0;
		projs.forEach((proj, at) => {
			const slot = this.byLayerProj.get(`${layer}/${proj}`);
			if (!slot) return;
			const m = slot.module;
			if (
				!cur ||
				cur.segment !== slot.segment ||
				cur.members.length === LORA_MAX_MEMBERS ||
				ranks + m.r > LORA_MAX_RANK
			) {
				groups!.push((cur = { segment: slot.segment, start: slot.offsetA, end: 0, members: [] }));
				ranks = 0;
			}
			cur.start = Math.min(cur.start, slot.offsetA);
			cur.end = Math.max(cur.end, slot.offsetB + m.out * m.r);
			cur.members.push({ slot, at });
			ranks += m.r;
		});
		this.groups.set(key, groups);
		return groups;
	}

	/** A module as a member of its kernel group (offsets within the group's binding). */
	private member(slot: ModuleSlot, start: number, out?: ProjectionOut, at = 0): LoraMember {
		const m = slot.module;
		return {
			R: m.r,
			OUT: m.out,
			A: slot.offsetA - start,
			B: slot.offsetB - start,
			scale: m.scale,
			// a different mask per module: mix the module's index into the seed
			seed:
				(Math.imul(this.dropoutSeed + 1, 0x9e3779b1) ^ Math.imul(slot.index + 1, 0x85ebca6b)) >>> 0,
			slot: at,
			ld: out?.ld,
			col: out?.col
		};
	}

	private shape(group: KernelGroup, T: number, members: LoraMember[]): LoraGroup {
		const IN = group.members[0].slot.module.in;
		return { T, IN, dropout: this.training ? this.dropout : 0, members };
	}

	/** The group's weights (or gradients) binding: its tensors in their segment. */
	private span(group: KernelGroup, buf: GPUBuffer): GPUBufferBinding {
		return this.binding(buf, group.start, group.end - group.start);
	}

	private scratch(T: number, group: KernelGroup): { u: Bindable; g: Bindable } {
		this.ensureScratch(T);
		const R = group.members.reduce((n, { slot }) => n + slot.module.r, 0);
		return {
			u: this.binding(this.u!, 0, T * R),
			g: this.binding(this.g!, 0, T * R)
		};
	}

	/** SharedProjectionHook: whether any of `projs` is adapted at `layer`. */
	adapts(layer: number, projs: readonly ProjectionName[]): boolean {
		return this.kernelGroups(layer, projs).length > 0;
	}

	/** ProjectionHook: y [T, out] += s·B(A x̃) for the module at (layer, proj), if adapted. */
	encode(
		enc: GPUCommandEncoder,
		layer: number,
		proj: ProjectionName,
		x: GPUBuffer,
		y: GPUBuffer,
		T: number
	): void {
		this.encodeShared(enc, layer, [proj], x, [{ buffer: y }], T);
	}

	/**
	 * SharedProjectionHook: ys[i] += s·B(A x̃) for every adapted projs[i], one dispatch per kernel
	 * group; with `gelu`, gelu = gelu_tanh(gate + branch) ⊙ (up + branch) (projs: gate, up).
	 */
	encodeShared(...[enc, layer, projs, x, ys, T, gelu]: SharedForwardArgs): void {
		const groups = this.kernelGroups(layer, projs);
		if (T === 0) return;
		if (gelu && groups.length === 0)
			throw new Error(`GpuLoraAdapter: no branch of ${projs} at layer ${layer} for the gelu form`);
		groups.forEach((group, i) => {
			const params = this.segments[group.segment].params;
			const { u } = this.scratch(T, group);
			const last = gelu && i === groups.length - 1;
			// the gelu form: gate and up as members 0 and 1 (one without a branch has rank 0); the
			// earlier groups (a pair split over segments) add into the base outputs
			const members = last
				? projs.map((_, at) => {
						const m = group.members.find((g) => g.at === at);
						if (m) return this.member(m.slot, group.start, ys[at], at);
						const OUT = group.members[0].slot.module.out;
						return { R: 0, OUT, A: 0, B: 0, scale: 0, slot: at, ld: ys[at].ld, col: ys[at].col };
					})
				: group.members.map(({ slot, at }) => this.member(slot, group.start, ys[at], at));
			const outs = ys.map((y) => y.buffer);
			this.kernel.encodeGroupForward(
				enc,
				{ x, P: this.span(group, params), u, ys: dedupe(outs, members) },
				this.shape(group, T, members),
				last ? { act: gelu } : undefined
			);
		});
	}

	/** LoraBackwardHook: dA, dB += (gradients of this module); dx [T, in] += s·(dy B) A. */
	encodeBackward(
		enc: GPUCommandEncoder,
		layer: number,
		proj: ProjectionName,
		x: GPUBuffer,
		dy: GPUBuffer,
		dx: GPUBuffer,
		T: number
	): void {
		this.encodeBackwardShared(enc, layer, [proj], x, [dy], dx, T);
	}

	/** SharedBackwardHook: encodeBackward for projections sharing x, two dispatches per group. */
	encodeBackwardShared(...[enc, layer, projs, x, dys, dx, T]: SharedBackwardArgs): void {
		const groups = this.kernelGroups(layer, projs);
		if (T === 0) return;
		for (const group of groups) {
			const seg = this.segments[group.segment];
			if (!seg.grads)
				throw new Error('GpuLoraAdapter: created without gradients ({ trainable: true })');
			const members = group.members.map(({ slot, at }) =>
				this.member(slot, group.start, undefined, at)
			);
			this.kernel.encodeGroupBackward(
				enc,
				{
					x,
					P: this.span(group, seg.params),
					G: this.span(group, seg.grads),
					dys: dedupe(dys, members),
					dx,
					...this.scratch(T, group)
				},
				this.shape(group, T, members)
			);
		}
	}

	/** Zeroes every gradient (encode outside any open compute pass). */
	zeroGrads(enc: GPUCommandEncoder): void {
		this.check();
		for (const s of this.segments) if (s.grads) enc.clearBuffer(s.grads);
	}

	/** The adapter read back to the host (for export, checkpoints, the reference). */
	async download(): Promise<LoraAdapter> {
		const segs = await Promise.all(this.segments.map((s) => this.read(s.params, s.floats)));
		const modules = new Map<string, LoraModule>();
		for (const [name, slot] of this.slots) {
			const m = slot.module;
			const data = segs[slot.segment];
			modules.set(name, {
				...m,
				A: data.slice(slot.offsetA, slot.offsetA + m.r * m.in),
				B: data.slice(slot.offsetB, slot.offsetB + m.out * m.r)
			});
		}
		return { config: structuredClone(this.config), modules };
	}

	/** Gradients by PEFT tensor name (tests, the CLI's `loss`). */
	async downloadGrads(): Promise<Map<string, Float32Array>> {
		if (!this.trainable) throw new Error('GpuLoraAdapter: no gradients (not trainable)');
		const segs = await Promise.all(this.segments.map((s) => this.read(s.grads!, s.floats)));
		const out = new Map<string, Float32Array>();
		for (const slot of this.slots.values()) {
			const m = slot.module;
			const data = segs[slot.segment];
			out.set(
				loraTensorName(m.layer, m.proj, 'A'),
				data.slice(slot.offsetA, slot.offsetA + m.r * m.in)
			);
			out.set(
				loraTensorName(m.layer, m.proj, 'B'),
				data.slice(slot.offsetB, slot.offsetB + m.out * m.r)
			);
		}
		return out;
	}

	/** Overwrites the gradients (by PEFT tensor name, as downloadGrads gives them): a paused step's. */
	uploadGrads(grads: Map<string, Float32Array>): void {
		this.check();
		if (!this.trainable) throw new Error('GpuLoraAdapter: no gradients (not trainable)');
		for (const slot of this.slots.values()) {
			const m = slot.module;
			const buf = this.segments[slot.segment].grads!;
			for (const [part, offset, n] of [
				['A', slot.offsetA, m.r * m.in],
				['B', slot.offsetB, m.out * m.r]
			] as const) {
				const name = loraTensorName(m.layer, m.proj, part);
				const g = grads.get(name);
				if (g?.length !== n)
					throw new Error(`GpuLoraAdapter.uploadGrads: ${name} is missing or has another shape`);
				this.device.queue.writeBuffer(buf, offset * 4, Float32Array.from(g));
			}
		}
	}

	/** Overwrites the parameters with those of `adapter` (same modules and ranks), e.g. on resume. */
	upload(adapter: LoraAdapter): void {
		this.check();
		for (const [name, slot] of this.slots) {
			const m = adapter.modules.get(name);
			const s = slot.module;
			if (!m || m.r !== s.r || m.in !== s.in || m.out !== s.out)
				throw new Error(`GpuLoraAdapter.upload: ${name} is missing or has another shape`);
			const buf = this.segments[slot.segment].params;
			this.device.queue.writeBuffer(buf, slot.offsetA * 4, Float32Array.from(m.A));
			this.device.queue.writeBuffer(buf, slot.offsetB * 4, Float32Array.from(m.B));
		}
	}

	/** Bytes held on the GPU (params, grads, scratch). */
	get gpuBytes(): number {
		let n = 0;
		for (const s of this.segments) n += s.floats * 4 * (s.grads ? 2 : 1);
		return n + 2 * this.scratchRows * this.maxRank * 4;
	}

	destroy(): void {
		if (this.destroyed) return;
		this.destroyed = true;
		for (const s of this.segments) {
			this.memory.free(s.params);
			this.memory.free(s.grads);
		}
		this.memory.free(this.u);
		this.memory.free(this.g);
		for (const b of this.retired) this.memory.free(b);
	}

	private check(): void {
		if (this.destroyed) throw new Error('GpuLoraAdapter: used after destroy()');
	}

	private read(buf: GPUBuffer, floats: number): Promise<Float32Array> {
		return readF32(this.device, buf, floats, 'lora.readback');
	}
}

/**
 * The distinct buffers among `bufs` (a binding each), each member's slot renumbered to its
 * buffer's: the fused decode's q, k and v share one.
 */
function dedupe(bufs: GPUBuffer[], members: LoraMember[]): GPUBuffer[] {
	const distinct: GPUBuffer[] = [];
	for (const m of members) {
		const b = bufs[m.slot ?? 0];
		let i = distinct.indexOf(b);
		if (i < 0) i = distinct.push(b) - 1;
		m.slot = i;
	}
	return distinct;
}
