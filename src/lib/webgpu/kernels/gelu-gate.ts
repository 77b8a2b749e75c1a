/**
 * Gemma-2's gated activation: gate, up [n] → y [n] = gelu_tanh(gate) ⊙ up; and its backward
 * dy → dgate = dy ⊙ up ⊙ gelu_tanh'(gate), dup = dy ⊙ gelu_tanh(gate).
 */
import { ComputeKernel, packUniforms } from '../kernel';
import code from './gelu-gate.wgsl?raw';
import { grid1d } from './residual';

/** Threads per workgroup (GELU_THREADS in gelu-gate.wgsl). */
const GELU_THREADS = 256;

export class GeluGateKernel {
	private readonly forward: ComputeKernel;
	private readonly backward: ComputeKernel;
	private readonly backwardInPlace: ComputeKernel;
	constructor(readonly device: GPUDevice) {
		this.backwardInPlace = new ComputeKernel(device, {
			label: 'gelu-gate',
			code,
			entryPoint: 'gelu_gate_backward_inplace'
		});
		this.backward = new ComputeKernel(device, {
			label: 'gelu-gate',
			code,
			entryPoint: 'gelu_gate_backward'
		});
		this.forward = new ComputeKernel(device, {
			label: 'gelu-gate',
			code,
			entryPoint: 'gelu_gate_forward'
		});
	}

	encode(enc: GPUCommandEncoder, gate: GPUBuffer, up: GPUBuffer, y: GPUBuffer, n: number): void {
		const [gx, gy] = grid1d(this.device, n, GELU_THREADS);
		this.forward.dispatch(
			enc,
			[gate, up, y],
			[gx, gy],
			packUniforms([
				['u', n],
				['u', gx]
			])
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
		const [gx, gy] = grid1d(this.device, n, GELU_THREADS);
		this.backward.dispatch(
			enc,
			[dy, gate, up, dgate, dup],
			[gx, gy],
			packUniforms([
				['u', n],
				['u', gx]
			])
		);
	}

	/** The same backward written over its inputs: gate ← dgate, up ← dup (saves two buffers). */
	encodeBackwardInPlace(
		enc: GPUCommandEncoder,
		dy: GPUBuffer,
		gate: GPUBuffer,
		up: GPUBuffer,
		n: number
	): void {
		const [gx, gy] = grid1d(this.device, n, GELU_THREADS);
		this.backwardInPlace.dispatch(
			enc,
			[dy, gate, up],
			[gx, gy],
			packUniforms([
				['u', n],
				['u', gx]
			])
		);
	}
}
