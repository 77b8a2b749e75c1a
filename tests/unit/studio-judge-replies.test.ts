import { describe, expect, it } from 'vitest';
import type { Rubric } from '../../src/lib/data/types';
import {
	compareByScore,
	comparisonCsv,
	comparisonJson,
	judgedReply,
	judgeReplies
} from '../../src/lib/studio/judge-replies';
import type { LocalJudgeEngine } from '../../src/lib/studio/judge';
import { mulberry32 } from '../../src/lib/random';
import { summarizeScores } from '../../src/lib/studio/judge-scores';
import { judgeServer } from '../judge-fixtures';

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

	it('exports the table as CSV and the whole comparison as JSON', async () => {
		const { result } = await run(11);
		const [base, good, bad] = result.variants;
		const csv = comparisonCsv(result).trim().split('\n');
		expect(csv[0]).toBe('variant,adapter_id,criterion,mean,spread,judged,failed,winner');
		// a row per variant and criterion, then the combined score: 3 × (2 + 1)
		expect(csv).toHaveLength(1 + 9);
		const tone = good.summary.criteria.tone;
		expect(csv).toContain(`good adapter,good,tone,${tone.mean},${tone.spread},3,0,yes`);
		expect(csv).toContain(`good adapter,good,combined,${good.summary.combined},,3,0,yes`);
		expect(csv).toContain(`base,,combined,${base.summary.combined},,3,0,`);
		// a variant whose judgments all failed is in the table, with no scores, not zeros
		expect(csv.filter((l) => l.startsWith('bad adapter'))).toEqual([
			'bad adapter,bad,tone,,,0,3,',
			'bad adapter,bad,flow,,,0,3,',
			'bad adapter,bad,combined,,,0,3,'
		]);
		expect(bad.summary.failed).toBe(3);

		const json = JSON.parse(comparisonJson(result));
		expect(json).toMatchObject({
			format: 'mondo-score-comparison',
			version: 1,
			rubric: { id: 'r1', key: 'tone-flow', version: 2 },
			seed: 11,
			judgeTokens: 4,
			winner: 1
		});
		expect(json.sampling.temperature).toBe(0.7);
		expect(json.variants.map((v: { name: string }) => v.name)).toEqual([
			'base',
			'good adapter',
			'bad adapter'
		]);
		expect(json.variants[1].replies[0].reply).toBe(good.replies[0].reply);
		expect(json.variants[1].replies[0].judgment.scores).toEqual(good.replies[0].judgment!.scores);
		expect(json.variants[2].replies[0].error).toMatch(/no probability/);
	});
});

describe('replies judged by the remote judge (training evaluation)', () => {
	it('the local model only replies; the server judges; a failed request is a failed judgment', async () => {
		const s = scriptedEngine();
		const { fetch, requests } = judgeServer((text) =>
			text.includes('base how')
				? new Response('overloaded', { status: 503 })
				: `fine.\nScore: ${text.startsWith('tone') ? 3 : 1}`
		);
		let judgeWith = 0;
		const judged = await judgeReplies({
			prompts,
			engine: s.engine,
			tokenizer: { encode: (t) => [t.charCodeAt(0)] },
			rubric,
			character: { name: 'S', profile: '', styleNotes: '' },
			sampling: { temperature: 0, topK: 1, topP: 1, repetitionPenalty: 1, maxNewTokens: 8 },
			seed: 1,
			judge: { model: 'tiny' },
			remote: { endpoint: 'http://127.0.0.1:9/v1', model: 'judge-model', fetch },
			generateWith: () => s.use(null),
			judgeWith: () => void judgeWith++
		});
		expect(judgeWith).toBe(0);
		expect(s.calls.every((c) => c.startsWith('reply:'))).toBe(true);
		expect(requests[0].url).toBe('http://127.0.0.1:9/v1/chat/completions');
		expect(requests[0].body.model).toBe('judge-model');
		const [why, how, who] = judged;
		expect(why.judgment?.judge).toMatchObject({ kind: 'remote', model: 'judge-model' });
		expect(why.judgment?.scores).toEqual({ tone: { score: 3 }, flow: { score: 1 } });
		expect(who.judgment?.scores.tone.score).toBe(3);
		expect(how.judgment).toBeUndefined();
		expect(how.error).toMatch(/HTTP 503/);
		const summary = summarizeScores(rubric, judged.map(judgedReply));
		expect(summary).toMatchObject({ judged: 2, failed: 1, combined: 2 });
	});
});
