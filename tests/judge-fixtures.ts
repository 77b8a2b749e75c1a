/**
 * What the judge tests on the tiny model share (tests/gpu/judge-training.test.ts and
 * tests/e2e/judge-scores.spec.ts): a two-criterion rubric short enough for the tiny model's
 * context, the character it judges, and single-turn examples.
 */
import type { Character, Rubric } from '../src/lib/data/types';

export function tinyRubric(id: string, createdAt: number): Rubric {
	return {
		id,
		key: 'tiny-style-flow',
		version: 1,
		name: 'Tiny style and flow',
		language: 'en',
		template: '{{criterion}} {{min}}-{{max}}\n{{dialogue}}',
		criteria: [
			{ key: 'style', label: 'style', anchors: {} },
			{ key: 'flow', label: 'flow', anchors: {} }
		],
		scale: { min: 0, max: 4 },
		origin: 'user',
		createdAt
	};
}

export function tinyCharacter(id: string, createdAt: number): Character {
	return {
		id,
		name: 'Sokra',
		language: 'en',
		profile: 'asks',
		styleNotes: 'short',
		exampleLines: [],
		prompt: '',
		origin: 'user',
		createdAt,
		updatedAt: createdAt
	} as unknown as Character;
}

/** A user turn and the model's reply. */
export const pair = (q: string, a: string) => ({
	messages: [
		{ role: 'user' as const, content: q },
		{ role: 'model' as const, content: a }
	]
});

/**
 * A stand-in for an OpenAI-compatible judge server, as the `fetch` a remote judge is given: each
 * request is recorded (URL, init, parsed body), and `answer` turns the first message's text into
 * the reply — a string is sent as the assistant's message, a Response as it is.
 */
export function judgeServer(answer: (text: string) => string | Response) {
	const requests: {
		url: string;
		init: RequestInit;
		body: { model: string; temperature?: number; messages: { role: string; content: string }[] };
	}[] = [];
	const fetch = (async (url: string, init: RequestInit) => {
		const body = JSON.parse(init.body as string);
		requests.push({ url, init, body });
		const reply = answer(body.messages[0].content);
		return typeof reply === 'string'
			? Response.json({ choices: [{ message: { content: reply } }] })
			: reply;
	}) as typeof globalThis.fetch;
	return { fetch, requests };
}
