import { expect, it } from 'vitest';
import { GpuCallCounter, countGpuCalls } from '../../src/lib/webgpu/call-counter';
import { ComputeKernel, beginComputePass, endComputePass } from '../../src/lib/webgpu/kernel';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import { TINY_CONFIG, randomWeights } from '../../src/lib/reference/random-model';
import { readF32, testDevice } from './harness';

const ADD_ONE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
	if (g.x < arrayLength(&x)) { x[g.x] = x[g.x] + 1.0; }
}`;

it('counts the WebGPU calls of a known sequence, and restores the methods', async () => {
	const { device } = await testDevice();
	const kernel = new ComputeKernel(device, {
		label: 'test.add_one',
		code: ADD_ONE,
		entryPoint: 'main'
	});
	const dispatch = GPUComputePassEncoder.prototype.dispatchWorkgroups;
	const { counts } = await countGpuCalls(async () => {
		const x = device.createBuffer({
			label: 'x',
			size: 256,
			usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST
		});
		device.queue.writeBuffer(x, 0, new Float32Array(64));
		const enc = device.createCommandEncoder();
		beginComputePass(enc, 'three');
		for (let i = 0; i < 3; i++) kernel.dispatch(enc, [x], [1]);
		endComputePass(enc);
		kernel.dispatch(enc, [x], [1]); // a pass of its own
		device.queue.submit([enc.finish()]);
		const out = await readF32(device, x, 64); // a staging buffer, a copy, a submit, a mapAsync
		expect(out[5]).toBe(4);
	});
	expect(GPUComputePassEncoder.prototype.dispatchWorkgroups).toBe(dispatch);
	expect(counts).toMatchObject({
		dispatches: 4,
		computePasses: 2,
		submits: 2,
		commandBuffers: 2,
		readbacks: 1,
		bindGroupsCreated: 1, // cached by ComputeKernel after the first dispatch
		buffersCreated: 2,
		bufferBytesCreated: 512,
		copies: 1,
		copyBytes: 256,
		writeBuffers: 1,
		writeBufferBytes: 256,
		dispatchesByPipeline: { 'test.add_one.main': 4 },
		boundBytes: { 'test.add_one.main': { x: 4 * 256 } }
	});
});

it('dry dispatches are counted but not run; reset starts a new window', async () => {
	const { device } = await testDevice();
	const kernel = new ComputeKernel(device, {
		label: 'test.add_one',
		code: ADD_ONE,
		entryPoint: 'main'
	});
	const x = device.createBuffer({
		label: 'x',
		size: 256,
		usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST
	});
	const counter = new GpuCallCounter().install();
	try {
		counter.dryDispatches = true;
		const enc = device.createCommandEncoder();
		kernel.dispatch(enc, [x], [1]);
		counter.reset();
		kernel.dispatch(enc, [x], [1]);
		device.queue.submit([enc.finish()]);
		expect(counter.counts.dispatches).toBe(1);
		expect(counter.counts.bindGroupsCreated).toBe(0);
		expect(counter.counts.submits).toBe(1);
	} finally {
		counter.uninstall();
	}
	expect((await readF32(device, x, 64))[0]).toBe(0);
});

it('a steady-state decode token creates no bind group and no buffer (positions in kept uniforms)', async () => {
	const { device } = await testDevice();
	const engine = await Gemma2Engine.create(device, randomWeights(TINY_CONFIG, 3, 'q4f16'), {
		maxTokens: 32
	});
	try {
		const params = { temperature: 0.8, topK: 20, topP: 0.9, repetitionPenalty: 1.1 };
		const ids = [2, 17, 40];
		await engine.prefill(ids);
		const token = async (u: number) => {
			const id = await engine.sample(params, ids, u);
			ids.push(id);
			await engine.append([id]);
		};
		await token(0.25); // warm-up: the slots and bind groups of a decode token
		await token(0.5);
		const { counts } = await countGpuCalls(() => token(0.75));
		expect(counts).toMatchObject({ bindGroupsCreated: 0, buffersCreated: 0, readbacks: 1 });
		expect(counts.dispatches).toBeGreaterThan(TINY_CONFIG.numLayers);
		// the fused decode layer: q/k/v GEMV, rope_kv, attention, o, rmsnorm_residual, gate_up GEMV
		// with gelu, down, rmsnorm_residual — issue 13's ≤ 8 dispatches per layer
		const perToken = ['embedding.', 'sampling.', 'rmsnorm.rmsnorm_forward'];
		const layer = Object.entries(counts.dispatchesByPipeline)
			.filter(([name]) => !perToken.some((p) => name.startsWith(p)))
			.reduce((n, [, c]) => n + c, 0);
		expect((layer - 1) / TINY_CONFIG.numLayers).toBeLessThanOrEqual(8); // − 1: the LM head GEMV
		expect(counts.dispatchesByPipeline['rmsnorm.rmsnorm_residual']).toBe(2 * TINY_CONFIG.numLayers);
		expect(counts.dispatchesByPipeline['rope.rope_kv']).toBe(TINY_CONFIG.numLayers);
	} finally {
		engine.destroy();
	}
});
