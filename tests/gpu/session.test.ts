/**
 * The model session as the worker runs it, on the page's WebGPU: a lost device (forced with
 * device.destroy()) drops the model with a typed DeviceLost error, and the next load works on a
 * fresh device without reloading the page.
 */
import { describe, expect, it } from 'vitest';
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
});
