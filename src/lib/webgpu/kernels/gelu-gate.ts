/** Gemma-2's gated activation: gate, up [n] → y [n] = gelu_tanh(gate) ⊙ up. */
import { ComputeKernel, packUniforms } from '../kernel';
import code from './gelu-gate.wgsl?raw';
import { grid1d } from './residual';

/** Threads per workgroup (GELU_THREADS in gelu-gate.wgsl). */
const GELU_THREADS = 256;

export class GeluGateKernel {
	private readonly forward: ComputeKernel;
	constructor(readonly device: GPUDevice) {
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
}
