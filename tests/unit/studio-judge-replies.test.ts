import { describe, expect, it } from 'vitest';
import type { Rubric } from '../../src/lib/data/types';
import { compareByScore, comparisonCsv } from '../../src/lib/studio/judge-replies';
import type { LocalJudgeEngine } from '../../src/lib/studio/judge';
import { mulberry32 } from '../../src/lib/random';

const rubric: Rubric = {
	id: 'r1',
	key: 'tone-flow',
	version: 2,
	name: 'tone and flow',
	language: 'en',
	template: '{{criterion}}\n{{dialogue}}',
	criteria: [
		{ key: 'tone', label: 'tone', anchors: {} },
		{ key: 'flow', label: 'flow', anchors: {} }
	],
	scale: { min: 0, max: 4 },
	origin: 'user',
	createdAt: 0
};

/**
 * A scripted engine (the studio's engine interfaces, no GPU): a reply depends on the adapter
 * applied and the seed; the judge's digit probabilities depend on the reply's text, and a reply
 * containing "broken" leaves no probability on any digit (a failed judgment).
 */
function scriptedEngine() {
	let adapter: string | null = null;
	const calls: string[] = [];
	const engine: LocalJudgeEngine = {
		async generate(prompt, sampling) {
			const judging =
				prompt.messages[0].content.startsWith('tone') ||
				prompt.messages[0].content.startsWith('flow');
			if (judging) return { text: 'comment', tokens: 1 };
			calls.push(`reply:${adapter}`);
			const r = mulberry32(sampling.seed)();
			const text =
				adapter === 'bad'
					? 'broken'
					: `${adapter ?? 'base'} ${prompt.messages.at(-1)!.content} ${r.toFixed(3)}`;
			return { text, tokens: 3 };
		},
		async nextTokenProbabilities(input) {
			calls.push(`judge:${adapter}`);
			const text = input.messages[0].content;
			if (text.includes('broken')) return [0, 0, 0, 0, 0];
			const good = text.includes('good') ? 4 : 1;
			return [0, 0, 0, 0, 0].map((_, d) => (d === good ? 0.9 : 0.025));
		}
	};
	return { engine, calls, use: async (id: string | null) => void (adapter = id) };
}

const prompts = ['why', 'how', 'who'].map((q) => ({
	messages: [{ role: 'user' as const, content: q }],
	reference: 'x'
}));

async function run(seed: number) {
	const s = scriptedEngine();
	const result = await compareByScore({
		variants: [
			{ adapterId: null, name: 'base' },
			{ adapterId: 'good', name: 'good adapter' },
			{ adapterId: 'bad', name: 'bad adapter' }
		],
		prompts,
		engine: s.engine,
		tokenizer: { encode: (t) => [t.charCodeAt(0)] },
		rubric,
		character: { name: 'S', profile: '', styleNotes: '' },
		sampling: { temperature: 0.7, topK: 40, topP: 0.9, repetitionPenalty: 1, maxNewTokens: 8 },
		judgeTokens: 4,
		seed,
		judge: { model: 'tiny' },
		useAdapter: s.use
	});
	return { result, calls: s.calls };
}

describe('adapters compared by score', () => {
	it('same prompts, judge, seed and sampling for every variant; the base model judges; winner marked', async () => {
		const { result, calls } = await run(11);
		expect(result.variants.map((v) => v.replies.length)).toEqual([3, 3, 3]);
		// every reply was written with its adapter, every judgment read with the adapter off
		expect(calls.filter((c) => c.startsWith('judge:')).every((c) => c === 'judge:null')).toBe(true);
		expect(calls.filter((c) => c.startsWith('reply:')).slice(3, 6)).toEqual(
			Array(3).fill('reply:good')
		);
		const [base, good, bad] = result.variants;
		expect(good.summary.combined).toBeGreaterThan(base.summary.combined!);
		expect(result.winner).toBe(1);
		// failed judgments are failed, not zeros: no mean, no combined score
		expect(bad.summary.failed).toBe(3);
		expect(bad.summary.combined).toBeNull();
		expect(bad.replies[0].error).toMatch(/no probability/);
		expect(result.rubric).toEqual({ id: 'r1', key: 'tone-flow', version: 2 });
	});

	it('is reproducible for a fixed seed (the same replies and scores), and differs with another', async () => {
		const a = await run(11);
		const b = await run(11);
		// judgments get their own id and time; everything else is the same
		const strip = (r: typeof a.result) =>
			r.variants.map((v) => ({
				...v,
				replies: v.replies.map((x) => ({
					reply: x.reply,
					error: x.error,
					scores: x.judgment?.scores
				}))
			}));
		expect(strip(b.result)).toEqual(strip(a.result));
		expect(b.result.winner).toBe(a.result.winner);
		const c = await run(12);
		expect(c.result.variants[0].replies[0].reply).not.toBe(a.result.variants[0].replies[0].reply);
	});

	it('exports the table as CSV', async () => {
		const { result } = await run(11);
		const csv = comparisonCsv(result).trim().split('\n');
		expect(csv[0]).toBe('variant,adapter_id,criterion,mean,spread,judged,failed,winner');
		expect(csv).toContain(
			`good adapter,good,combined,${result.variants[1].summary.combined},,3,0,yes`
		);
		expect(csv.filter((l) => l.startsWith('bad adapter'))).toEqual([]);
		expect(JSON.parse(JSON.stringify(result)).winner).toBe(1);
	});
});
