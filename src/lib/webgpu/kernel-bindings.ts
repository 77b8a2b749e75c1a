/**
 * A kernel's buffer bindings, declared once on the TypeScript side: for each WGSL entry point,
 * the module-scope variables it binds to group(0), in binding order. The kernel's `.ts` prepends
 * `wgsl` (the `@group(0) @binding(i) var<…>` lines) to its WGSL source, so the `.wgsl` file holds
 * no binding declaration, and binds its buffers by name through `order`; ComputeKernel binds the
 * uniforms after the buffers, so a uniform struct is an entry point's last binding.
 * tests/unit/kernel-bindings.test.ts checks each declaration against the variables its entry
 * point (and the functions it calls) uses.
 */
import { UniformLayout } from './kernel';

type Access = 'read' | 'read_write';
/**
 * A storage buffer: `read` / `read_write` is an `array<f32>`; `read u32`, `read_write vec4<f32>`,
 * … name another element type.
 */
export type StorageBinding = Access | `${Access} ${string}`;
/** A storage buffer, or the entry point's uniform struct (its UniformLayout). */
export type BindingSpec = StorageBinding | UniformLayout<string>;
export type EntryBindings = Readonly<Record<string, BindingSpec>>;

/** The names of an entry point's storage bindings (what a dispatch passes). */
export type BufferNames<B extends EntryBindings> = {
	[K in keyof B]: B[K] extends UniformLayout<string> ? never : K;
}[keyof B] &
	string;

export type BoundBuffer = GPUBuffer | GPUBufferBinding;

export class KernelBindings<D extends Record<string, EntryBindings>> {
	/** The `@group(0) @binding(i) var<…>` declarations of every entry point, one line each. */
	readonly wgsl: string;

	constructor(
		/** The kernel's label (in errors). */
		readonly label: string,
		readonly entries: D
	) {
		/** Each variable's declaration, by name (first use first). */
		const declarations = new Map<string, string>();
		for (const [entry, bindings] of Object.entries(entries)) {
			const specs = Object.entries(bindings);
			specs.forEach(([name, spec], binding) => {
				if (spec instanceof UniformLayout && binding !== specs.length - 1)
					throw new Error(`${label}.${entry}: the uniform ${name} must be the last binding`);
				const declaration = `@group(0) @binding(${binding}) var<${wgslType(spec)}> ${name}: ${
					spec instanceof UniformLayout ? spec.struct : `array<${element(spec)}>`
				};`;
				const seen = declarations.get(name);
				if (seen !== undefined && seen !== declaration)
					throw new Error(
						`${label}.${entry}: ${name} is declared as "${declaration}" here and as "${seen}" by another entry point`
					);
				declarations.set(name, declaration);
			});
		}
		this.wgsl = [...declarations.values()].join('\n') + '\n';
	}

	/** The names entry point `entry` binds, in binding order. */
	names(entry: keyof D & string): string[] {
		return Object.keys(this.entries[entry]);
	}

	/** `buffers` (every storage binding of `entry`, by name) in binding order. */
	order<E extends keyof D & string>(
		entry: E,
		buffers: Record<BufferNames<D[E]>, BoundBuffer>
	): BoundBuffer[] {
		const byName = buffers as Record<string, BoundBuffer>;
		return Object.entries(this.entries[entry])
			.filter(([, spec]) => !(spec instanceof UniformLayout))
			.map(([name]) => {
				const buffer = byName[name];
				if (!buffer) throw new Error(`${this.label}.${entry}: no buffer for binding ${name}`);
				return buffer;
			});
	}
}

function wgslType(spec: BindingSpec): string {
	if (spec instanceof UniformLayout) return 'uniform';
	return `storage, ${spec.split(' ')[0]}`;
}

function element(spec: StorageBinding): string {
	return spec.split(' ')[1] ?? 'f32';
}
