/**
 * Gemma-2's gated activation: gate, up [n] → y [n] = gelu_tanh(gate) ⊙ up; and its backward
 * dy → dgate = dy ⊙ up ⊙ gelu_tanh'(gate), dup = dy ⊙ gelu_tanh(gate).
 * (Decode applies the forward in the gate_up GEMV's epilogue instead: GemvKernel.encodeGeluGate.)
 */
import { ComputeKernel, grid1d, UniformLayout } from '../kernel';
import activations from './activations.wgsl?raw';
import geluGate from './gelu-gate.wgsl?raw';

const code = activations + geluGate;
/** Threads per workgroup (the GELU_THREADS override of gelu-gate.wgsl). */
const GELU_THREADS = 256;

/** gelu-gate.wgsl's Params (every entry point). */
export const GELU_GATE_PARAMS = new UniformLayout('Params', [
	['n', 'u32'],
	['gridX', 'u32']
] as const);

type Entry = 'gelu_gate_forward' | 'gelu_gate_backward' | 'gelu_gate_backward_inplace';

export class GeluGateKernel {
	private readonly kernels = new Map<Entry, ComputeKernel>();
	constructor(readonly device: GPUDevice) {}

	encode(enc: GPUCommandEncoder, gate: GPUBuffer, up: GPUBuffer, y: GPUBuffer, n: number): void {
		this.run(enc, 'gelu_gate_forward', [gate, up, y], n);
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
		this.run(enc, 'gelu_gate_backward', [dy, gate, up, dgate, dup], n);
	}

	/** The same backward written over its inputs: gate ← dgate, up ← dup (saves two buffers). */
	encodeBackwardInPlace(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		gate: GPUBuffer,
		up: GPUBuffer,
		n: number
	): void {
		this.run(enc, 'gelu_gate_backward_inplace', [dy, gate, up], n);
	}

	private run(enc: GPUCommandEncoder, entryPoint: Entry, buffers: GPUBuffer[], n: number): void {
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
