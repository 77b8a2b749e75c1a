import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { en, ja } from '../../src/lib/i18n/messages';
import {
	adapterMismatch,
	adapterNotFound,
	contextOverflow,
	deviceLost,
	isSessionError,
	noModelLoaded,
	outOfMemory,
	registerSessionErrorTransfer,
	SessionError,
	storageFull,
	tokenOutOfRange,
	trainingAlreadyRunning
} from '../../src/lib/session/errors';
import { KvPrefix } from '../../src/lib/session/kv-prefix';
import { nextTokenProbabilities, stopReason } from '../../src/lib/session/next-token';

const everyError = [
	noModelLoaded(),
	contextOverflow({ tokens: 9000, limit: 8192 }),
	deviceLost({ reason: 'destroyed', message: '' }),
	outOfMemory({ bytes: 3 * 2 ** 30 }),
	adapterMismatch({ adapter: 'a', detail: 'lora_A shape' }),
	adapterNotFound({ id: 'x' }),
	trainingAlreadyRunning({ runId: 'r' }),
	tokenOutOfRange({ id: 300000, vocabSize: 256000 }),
	storageFull({ what: 'checkpoint at step 40' })
];

describe('KvPrefix (the ids beside the KV cache they describe)', () => {
	const cache = () => {
		const c = { resets: 0, reset: () => void c.resets++ };
		return c;
	};

	it('feeds only the new tokens when the prompt extends what the cache holds', () => {
		const c = cache();
		const prefix = new KvPrefix(c);
		expect(prefix.extend([2, 5, 6])).toEqual({ fresh: [2, 5, 6], reused: 0 });
		// the reply sampled 7, 8, 107: all but the last were fed back
		prefix.generated([2, 5, 6], [7, 8, 107]);
		expect(prefix.length).toBe(5);
		const resets = c.resets;
		expect(prefix.extend([2, 5, 6, 7, 8, 107, 9])).toEqual({ fresh: [107, 9], reused: 5 });
		expect(c.resets).toBe(resets);
	});

	it('empties the cache when the prompt diverges from it', () => {
		const c = cache();
		const prefix = new KvPrefix(c);
		prefix.extend([2, 5, 6]);
		const resets = c.resets;
		expect(prefix.extend([2, 9])).toEqual({ fresh: [2, 9], reused: 0 });
		expect(c.resets).toBe(resets + 1);
	});
});

describe('stop reasons and the judge softmax', () => {
	it('a user stop wins, then the end of turn, then a full context over the token budget', () => {
		const base = { endOfTurn: false, aborted: false, tokens: 10, limit: 100 };
		expect(stopReason({ ...base, aborted: true, endOfTurn: true })).toBe('stopped');
		expect(stopReason({ ...base, endOfTurn: true })).toBe('end-of-turn');
		expect(stopReason({ ...base, tokens: 100 })).toBe('context-full');
		expect(stopReason(base)).toBe('length');
	});

	it('reads the softmax over the whole vocabulary at the asked ids', () => {
		const logits = Float32Array.from([1, 2, 3, 1000.5]);
		const all = nextTokenProbabilities(logits, [0, 1, 2, 3]);
		expect(all.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
		const z = Math.exp(1 - 1000.5) + Math.exp(2 - 1000.5) + Math.exp(3 - 1000.5) + 1;
		expect(nextTokenProbabilities(logits, [2])[0]).toBeCloseTo(Math.exp(3 - 1000.5) / z, 15);
		const e = (() => {
			try {
				nextTokenProbabilities(logits, [4]);
			} catch (err) {
				return err;
			}
		})();
		expect(isSessionError(e, 'token-out-of-range') && e.params).toEqual({ id: 4, vocabSize: 4 });
	});
});

describe('session errors', () => {
	it('every code is worded in English and Japanese', () => {
		for (const e of everyError) {
			const key = `error.${e.code}`;
			expect(en, key).toHaveProperty([key]);
			expect(ja, key).toHaveProperty([key]);
		}
	});

	it('cross comlink as SessionErrors with their code and parameters', async () => {
		registerSessionErrorTransfer();
		const { port1, port2 } = new MessageChannel();
		Comlink.expose(
			{
				fail() {
					throw contextOverflow({ tokens: 9000, limit: 8192 });
				},
				plain() {
					throw new Error('plain failure');
				}
			},
			port1 as unknown as Comlink.Endpoint
		);
		const remote = Comlink.wrap<{ fail(): void; plain(): void }>(
			port2 as unknown as Comlink.Endpoint
		);
		const e = await remote.fail().catch((x: unknown) => x);
		expect(e).toBeInstanceOf(SessionError);
		expect(isSessionError(e, 'context-overflow') && e.params).toEqual({
			tokens: 9000,
			limit: 8192
		});
		expect((e as Error).message).toContain('9000');
		const plain = await remote.plain().catch((x: unknown) => x);
		expect(plain).toBeInstanceOf(Error);
		expect(isSessionError(plain)).toBe(false);
		expect((plain as Error).message).toBe('plain failure');
		port1.close();
		port2.close();
	});
});
