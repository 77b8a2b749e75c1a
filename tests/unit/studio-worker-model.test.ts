import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatRequest, ChatResult } from '../../src/lib/worker/api';

/** A fake model worker: replies after a tick unless stopped; records what it was asked. */
const worker = vi.hoisted(() => ({
	requests: [] as ChatRequest[],
	stops: 0,
	stopped: false,
	encoded: [] as string[][],
	reply: { text: 'What is justice?', tokens: 5 }
}));

vi.mock('../../src/lib/worker/client', () => ({
	worker: () => ({
		async chat(request: ChatRequest, onProgress?: (p: unknown) => void): Promise<ChatResult> {
			worker.requests.push(request);
			onProgress?.({ text: 'What', tokens: 1, tokensPerSecond: 10 });
			await new Promise((r) => setTimeout(r, 5));
			const stopped = worker.stopped;
			return {
				...worker.reply,
				tokensPerSecond: 10,
				promptTokens: 12,
				reusedTokens: 0,
				stopReason: stopped ? 'stopped' : 'end-of-turn',
				firstTokenSeconds: 0.01
			};
		},
		async stop() {
			worker.stops++;
			worker.stopped = true;
		},
		async nextTokenProbabilities() {
			return [0.1, 0.2, 0.7];
		},
		async encode(texts: string[]) {
			worker.encoded.push(texts);
			return texts.map((t) => [...t].map((c) => c.charCodeAt(0)));
		}
	})
}));

// comlink's proxy marks a callback for transfer; in this fake it can stay a plain function.
vi.mock('comlink', () => ({ proxy: <T>(f: T) => f }));

const { WorkerModel, prepareTokenizer, isAbortError } =
	await import('../../src/lib/studio/worker-model');

const sampling = {
	temperature: 0.7,
	topK: 40,
	topP: 0.95,
	repetitionPenalty: 1,
	maxNewTokens: 8,
	seed: 7
};

beforeEach(() => {
	worker.requests = [];
	worker.stops = 0;
	worker.stopped = false;
	worker.encoded = [];
});

describe('WorkerModel', () => {
	it('sends the messages and the sampling (with the seed) and returns text and token count', async () => {
		const engine = new WorkerModel();
		const messages = [{ role: 'user' as const, content: 'Be Socrates.\n\nHello' }];
		const result = await engine.generate({ messages, characterPrompt: 'Be Socrates.' }, sampling);
		expect(result).toEqual({ text: 'What is justice?', tokens: 5 });
		expect(worker.requests[0].messages).toEqual(messages);
		expect(worker.requests[0].sampling.seed).toBe(7);
		// The prompt is already inside the first user turn: sending it again would repeat it.
		expect(worker.requests[0].characterPrompt).toBeUndefined();
		expect(engine.tokens).toBe(5);
		expect(engine.tokensPerSecond).toBeGreaterThan(0);
	});

	it('an abort stops the worker and rejects with an AbortError instead of returning a half turn', async () => {
		const engine = new WorkerModel();
		const controller = new AbortController();
		const pending = engine.generate(
			{ messages: [{ role: 'user', content: 'Hi' }] },
			sampling,
			controller.signal
		);
		controller.abort();
		const error = await pending.catch((e) => e);
		expect(isAbortError(error)).toBe(true);
		expect(worker.stops).toBe(1);
	});

	it('an already aborted signal never reaches the worker', async () => {
		const engine = new WorkerModel();
		const controller = new AbortController();
		controller.abort();
		const error = await engine
			.generate({ messages: [{ role: 'user', content: 'Hi' }] }, sampling, controller.signal)
			.catch((e) => e);
		expect(isAbortError(error)).toBe(true);
		expect(worker.requests).toHaveLength(0);
	});

	it('passes streamed progress to the callback', async () => {
		const seen: string[] = [];
		const engine = new WorkerModel((p) => seen.push(p.text));
		await engine.generate({ messages: [{ role: 'user', content: 'Hi' }] }, sampling);
		expect(seen).toEqual(['What']);
	});
});

describe('prepareTokenizer', () => {
	it('encodes the distinct texts in one worker call and answers synchronously', async () => {
		const tokenizer = await prepareTokenizer(['0', '1', '0', 'ab']);
		expect(worker.encoded).toEqual([['0', '1', 'ab']]);
		expect(tokenizer.encode('ab')).toEqual([97, 98]);
		expect(() => tokenizer.encode('never prepared')).toThrow(/not prepared/);
	});
});

describe('prepareTokenizer in batches', () => {
	it('encodes a long list batch by batch, reporting progress after each', async () => {
		worker.encoded = [];
		const progress: [number, number][] = [];
		const tokenizer = await prepareTokenizer(['a', 'b', 'c', 'd', 'e'], {
			batch: 2,
			onProgress: (done, total) => progress.push([done, total])
		});
		expect(worker.encoded).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
		expect(progress).toEqual([
			[2, 5],
			[4, 5],
			[5, 5]
		]);
		expect(tokenizer.encode('e')).toEqual([101]);
	});
});
