/**
 * The model session as the worker runs it, on the page's WebGPU: a lost device (forced with
 * device.destroy()) drops the model with a typed DeviceLost error, and the next load works on a
 * fresh device without reloading the page; a failed allocation (forced: SwiftShader refuses a
 * buffer of the device's largest size) says OutOfMemory and frees what was made; Stop during
 * prompt processing.
 */
import { describe, expect, it } from 'vitest';
import { filesFromUrl } from '../../src/lib/model/files';
import { loadModel } from '../../src/lib/model/load';
import { isSessionError } from '../../src/lib/session/errors';
import { ModelSession } from '../../src/lib/session/model-session';
import type { ChatRequest, ModelSource } from '../../src/lib/session/types';

const source: ModelSource = { kind: 'url', url: `${location.origin}/fixtures/tiny-hf/` };
const request: ChatRequest = {
	messages: [{ role: 'user', content: 'Hello' }],
	sampling: { temperature: 0, topK: 1, topP: 1, repetitionPenalty: 1, maxNewTokens: 6, seed: 1 }
};

describe('ModelSession', () => {
	it('says NoModelLoaded before a load', async () => {
		const session = new ModelSession();
		const e = await session.chat(request).catch((x: unknown) => x);
		expect(isSessionError(e, 'no-model-loaded')).toBe(true);
	});

	it('a lost device drops the model (DeviceLost); the next load works on a fresh device', async () => {
		const session = new ModelSession();
		await session.load(source);
		const before = await session.chat(request);
		expect(before.tokens).toBeGreaterThan(0);

		const lostDevice = (await session.device()).device;
		lostDevice.destroy();
		const e = await session.chat(request).catch((x: unknown) => x);
		expect(isSessionError(e, 'device-lost'), String(e)).toBe(true);
		expect(session.info()).toBeNull();

		await session.load(source);
		expect((await session.device()).device).not.toBe(lostDevice);
		const after = await session.chat(request);
		// greedy on the same weights: the same reply as before the loss
		expect(after.text).toBe(before.text);
		expect(after.tokens).toBe(before.tokens);
		session.close();
	});

	it('Stop during prompt processing returns after the chunk being fed; the cache then holds what was fed', async () => {
		const files = filesFromUrl(`${location.origin}/fixtures/tiny-hf/`);
		const session = new ModelSession();
		const C = 16;
		await session.open(
			await loadModel(files),
			{ id: 'tiny', label: 'tiny' },
			{ files, prefillChunk: C }
		);
		const sampling = { ...request.sampling, maxNewTokens: 3 };
		const long: ChatRequest = {
			sampling,
			messages: [{ role: 'user', content: 'Hello there, how are you today? '.repeat(6) }]
		};
		const other: ChatRequest = { sampling, messages: [{ role: 'user', content: 'Bye' }] };
		// the reply to the long prompt, read whole
		const whole = await session.chat(long);
		expect(whole.promptTokens).toBeGreaterThan(4 * C);
		expect(whole.tokens).toBeGreaterThan(0);
		await session.chat(other); // the cache now holds another chat

		// Stop pressed while the 2nd chunk of the long prompt is processed
		const engine = session.engine;
		const append = engine.append.bind(engine);
		let chunks = 0;
		engine.append = async (ids) => {
			chunks++;
			if (chunks === 2) session.stop();
			await append(ids);
		};
		const stopped = await session.chat(long);
		engine.append = append;
		expect(chunks).toBe(2); // not every chunk of the prompt
		expect(stopped.stopReason).toBe('stopped');
		expect(stopped.tokens).toBe(0);
		expect(stopped.text).toBe('');
		expect(engine.length).toBe(2 * C);

		// usable afterwards: the same prompt reuses the two fed chunks and gives the same reply
		const again = await session.chat(long);
		expect(again.reusedTokens).toBe(2 * C);
		expect(again.stopReason).toBe(whole.stopReason);
		expect(again.text).toBe(whole.text);
		expect(again.tokens).toBe(whole.tokens);
		session.close();
	}, 300_000); // SwiftShader compiles an engine per open: slow on a loaded machine

	it('a failed allocation says OutOfMemory, frees every buffer it made, and the next load works', async (ctx) => {
		const files = filesFromUrl(`${location.origin}/fixtures/tiny-hf/`);
		const model = await loadModel(files);
		const session = new ModelSession();
		const { device, report } = await session.device();
		// SwiftShader's largest allocation is 1 GiB and Dawn's buffer of the device's
		// maxBufferSize (1 GiB) needs a little more: vkAllocateMemory fails, a real GPUOutOfMemoryError.
		// A real GPU may have room for it; there the failure cannot be forced this way.
		if (!report.software) ctx.skip();
		const c = model.config;
		const rowBytes = c.numKvHeads * c.headDim * 4; // f32 KV cache
		const maxTokens = Math.floor(device.limits.maxStorageBufferBindingSize / rowBytes);
		const layerBytes = maxTokens * rowBytes;
		expect(layerBytes).toBe(device.limits.maxBufferSize);

		// every buffer the attempt creates must be destroyed again
		const created = new Set<GPUBuffer>();
		const createBuffer = device.createBuffer.bind(device);
		device.createBuffer = (d) => {
			const b = createBuffer(d);
			created.add(b);
			const destroy = b.destroy.bind(b);
			b.destroy = () => (created.delete(b), destroy());
			return b;
		};
		const e = await session
			.open(model, { id: 'tiny', label: 'tiny' }, { files, maxTokens, kvCacheDtype: 'f32' })
			.catch((x: unknown) => x);
		device.createBuffer = createBuffer;
		expect(isSessionError(e, 'out-of-memory'), String(e)).toBe(true);
		// what was asked for: at least the weights and one K and V layer of the cache
		expect(isSessionError(e, 'out-of-memory') && e.params.bytes).toBeGreaterThan(2 * layerBytes);
		expect(created.size).toBe(0);
		expect(session.info()).toBeNull();
		const chat = await session.chat(request).catch((x: unknown) => x);
		expect(isSessionError(chat, 'no-model-loaded')).toBe(true);

		// the same device still works: the model loads at its own size and answers
		await session.open(model, { id: 'tiny', label: 'tiny' }, { files });
		expect((await session.device()).device).toBe(device);
		expect((await session.chat(request)).tokens).toBeGreaterThan(0);
		session.close();
	}, 300_000);
});
