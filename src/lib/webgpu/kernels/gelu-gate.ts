/**
 * Gemma-2's gated activation: gate, up [n] → y [n] = gelu_tanh(gate) ⊙ up; and its backward
 * dy → dgate = dy ⊙ up ⊙ gelu_tanh'(gate), dup = dy ⊙ gelu_tanh(gate).
 * (Decode applies the forward in the gate_up GEMV's epilogue instead: GemvKernel.encodeGeluGate.)
 */
import { ComputeKernel, grid1d, UniformLayout } from '../kernel';
import { KernelBindings, type BoundBuffer } from '../kernel-bindings';
import activations from './activations.wgsl?raw';
import geluGate from './gelu-gate.wgsl?raw';

/** Threads per workgroup (the GELU_THREADS override of gelu-gate.wgsl). */
const GELU_THREADS = 256;

/** gelu-gate.wgsl's Params (every entry point). */
export const GELU_GATE_PARAMS = new UniformLayout('Params', [
	['n', 'u32'],
	['gridX', 'u32']
] as const);

/** gelu-gate.wgsl's bindings, per entry point. */
export const GELU_GATE_BINDINGS = new KernelBindings('gelu-gate', {
	gelu_gate_forward: { gate: 'read', up: 'read', y: 'read_write', p: GELU_GATE_PARAMS },
	gelu_gate_backward: {
		bw_dy: 'read',
		bw_gate: 'read',
		bw_up: 'read',
		bw_dgate: 'read_write',
		bw_dup: 'read_write',
		bw_p: GELU_GATE_PARAMS
	},
	gelu_gate_backward_inplace: {
		ip_dy: 'read',
		ip_gate: 'read_write',
		ip_up: 'read_write',
		ip_p: GELU_GATE_PARAMS
	}
});
const code = GELU_GATE_BINDINGS.wgsl + activations + geluGate;

type Entry = 'gelu_gate_forward' | 'gelu_gate_backward' | 'gelu_gate_backward_inplace';

export class GeluGateKernel {
	private readonly kernels = new Map<Entry, ComputeKernel>();
	constructor(readonly device: GPUDevice) {}

	encode(enc: GPUCommandEncoder, gate: GPUBuffer, up: GPUBuffer, y: GPUBuffer, n: number): void {
		this.run(
			enc,
			'gelu_gate_forward',
			GELU_GATE_BINDINGS.order('gelu_gate_forward', { gate, up, y }),
			n
		);
	}

	/** dy, gate, up [n] → dgate, dup [n] (overwritten; four distinct buffers besides dy). */
	encodeBackward(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		gate: GPUBuffer,
		up: GPUBuffer,
		dgate: GPUBuffer,
		dup: GPUBuffer,
		n: number
	): void {
		const buffers = GELU_GATE_BINDINGS.order('gelu_gate_backward', {
			bw_dy: dy,
			bw_gate: gate,
			bw_up: up,
			bw_dgate: dgate,
			bw_dup: dup
		});
		this.run(enc, 'gelu_gate_backward', buffers, n);
	}

	/** The same backward written over its inputs: gate ← dgate, up ← dup (saves two buffers). */
	encodeBackwardInPlace(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		gate: GPUBuffer,
		up: GPUBuffer,
		n: number
	): void {
		const buffers = GELU_GATE_BINDINGS.order('gelu_gate_backward_inplace', {
			ip_dy: dy,
			ip_gate: gate,
			ip_up: up
		});
		this.run(enc, 'gelu_gate_backward_inplace', buffers, n);
	}

	private run(enc: GPUCommandEncoder, entryPoint: Entry, buffers: BoundBuffer[], n: number): void {
		let kernel = this.kernels.get(entryPoint);
		if (!kernel) {
			const constants = { GELU_THREADS };
			kernel = new ComputeKernel(this.device, { label: 'gelu-gate', code, entryPoint, constants });
			this.kernels.set(entryPoint, kernel);
		}
		const [gx, gy] = grid1d(this.device, n, GELU_THREADS);
		kernel.dispatch(enc, buffers, [gx, gy], GELU_GATE_PARAMS.pack({ n, gridX: gx }));
	}
}
