import { describe, expect, it } from 'vitest';
import type { Rubric } from '../../src/lib/data/types';
import {
	JudgeScoreError,
	chatCompletionsUrl,
	judgeDialogueLocally,
	judgeDialogueRemotely,
	parseScoreFromText,
	scoreFromDigitProbabilities,
	stripScoreLine
} from '../../src/lib/studio/judge';
import {
	BUILTIN_RUBRICS,
	builtinRubricId,
	renderRubric,
	validateRubric
} from '../../src/lib/studio/rubrics';
import { CURATED_CHARACTERS } from '../../src/lib/studio/curated';
import { judgeServer } from '../judge-fixtures';

function builtin(key: string): Rubric {
	const r = BUILTIN_RUBRICS.find((x) => x.key === key)!;
	return { ...r, id: builtinRubricId(key), version: 1, origin: 'curated', createdAt: 0 };
}
const socratesEn = CURATED_CHARACTERS.find((c) => c.curatedKey === 'socrates-en')!;
const socratesJa = CURATED_CHARACTERS.find((c) => c.curatedKey === 'socrates-ja')!;
const dialogueEn = {
	id: 'd1',
	turns: [
		{ role: 'model' as const, content: 'What is justice, do you think?' },
		{ role: 'user' as const, content: 'Giving everyone the same.' },
		{ role: 'model' as const, content: 'Even the sick and the healthy?' }
	]
};
const dialogueJa = {
	id: 'd2',
	turns: [
		{ role: 'model' as const, content: '正義とは何だと思うかね？' },
		{ role: 'user' as const, content: '皆に同じものを与えることです。' }
	]
};

describe('scoreFromDigitProbabilities', () => {
	it('is the probability-weighted mean over the allowed digits, renormalized', () => {
		const { score, distribution } = scoreFromDigitProbabilities([0, 0, 0.1, 0.2, 0.1], {
			min: 0,
			max: 4
		});
		expect(distribution).toEqual([0, 0, 0.25, 0.5, 0.25]);
		expect(score).toBeCloseTo(3, 12);
	});

	it('accepts log-probabilities and softmaxes them', () => {
		const { score, distribution } = scoreFromDigitProbabilities(
			[Math.log(0.2), Math.log(0.2), -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
			{ min: 1, max: 7 },
			'logprobs'
		);
		expect(distribution[0]).toBeCloseTo(0.5, 12);
		expect(score).toBeCloseTo(1.5, 12);
	});

	it('throws a clear error when no digit has any probability', () => {
		expect(() => scoreFromDigitProbabilities([0, 0, 0, 0, 0], { min: 0, max: 4 })).toThrow(
			/no probability to any allowed digit 0–4/
		);
		expect(() =>
			scoreFromDigitProbabilities(Array(7).fill(-Infinity), { min: 1, max: 7 }, 'logprobs')
		).toThrow(JudgeScoreError);
	});

	it('throws on NaN, negative values and a wrong count, naming the digit', () => {
		expect(() => scoreFromDigitProbabilities([0.1, NaN, 0, 0, 0], { min: 0, max: 4 })).toThrow(
			/digit 1 is NaN/
		);
		expect(() => scoreFromDigitProbabilities([0.1, -0.2, 0, 0, 0], { min: 0, max: 4 })).toThrow(
			/digit 1 is -0.2/
		);
		expect(() => scoreFromDigitProbabilities([0.5, 0.5], { min: 0, max: 4 })).toThrow(
			/expected 5 values for digits 0–4, got 2/
		);
	});
});

describe('parseScoreFromText', () => {
	const toneFlow = builtin('tone-flow-en');
	const personality = builtin('personality-ja');

	it('reads a score alone on the last line and keeps the rest as the comment', () => {
		expect(parseScoreFromText('Very Socratic; always ends with a question.\n3', toneFlow)).toEqual({
			score: 3,
			comment: 'Very Socratic; always ends with a question.'
		});
		expect(parseScoreFromText('1. プロフィール…\n2. …\n\n**6**\n', personality).score).toBe(6);
		expect(parseScoreFromText('reasoning\n5点', personality).score).toBe(5);
		expect(
			parseScoreFromText('At first I would score 5 here.\nBut it slips.\n4', personality).score
		).toBe(4);
	});

	it('reads "Score: N" labels in English and Japanese, the last one winning', () => {
		expect(
			parseScoreFromText(
				'Score: 1 at first glance, but on reflection\nScore: 2\nThe tone slips twice.',
				toneFlow
			)
		).toEqual({
			score: 2,
			comment: 'Score: 1 at first glance, but on reflection\nThe tone slips twice.'
		});
		expect(parseScoreFromText('口調はよい。\nスコア：4', builtin('tone-flow-ja')).score).toBe(4);
	});

	it('reads a JSON object, in a code fence or not', () => {
		expect(
			parseScoreFromText('```json\n{"score": 4, "comment": "exactly Socrates"}\n```', toneFlow)
		).toEqual({ score: 4, comment: 'exactly Socrates' });
		expect(parseScoreFromText('{"score": "2"}', toneFlow).score).toBe(2);
	});

	it('rejects scores outside the scale and text without a score, saying what it saw', () => {
		expect(() => parseScoreFromText('Score: 9', toneFlow)).toThrow(
			/score 9 .* outside the scale 0–4/
		);
		expect(() => parseScoreFromText('I liked it a lot.', toneFlow)).toThrow(
			/no score found .*"I liked it a lot\."/
		);
		expect(() => parseScoreFromText('   ', toneFlow)).toThrow(/empty text/);
	});

	it('strips a trailing score line from generated judge text', () => {
		expect(stripScoreLine('Good tone.\nScore: 3')).toBe('Good tone.');
		expect(stripScoreLine('Good tone.\n3')).toBe('Good tone.');
		expect(stripScoreLine('Good tone.')).toBe('Good tone.');
	});
});

describe('renderRubric', () => {
	it('renders the English tone criterion with profile, style notes, labelled dialogue and anchors', () => {
		const prompt = renderRubric(builtin('tone-flow-en'), {
			character: socratesEn,
			dialogue: dialogueEn,
			criterion: 'tone'
		});
		expect(prompt).toContain('Character tone: do the replies sound like Socrates?');
		expect(prompt).toContain(
			'Socrates: What is justice, do you think?\nUser: Giving everyone the same.\nSocrates: Even the sick and the healthy?'
		);
		expect(prompt).toContain('0: not the character at all\n1:');
		expect(prompt).toContain('4: exactly the character');
		expect(prompt).toContain(socratesEn.profile);
		expect(prompt).not.toMatch(/\{\{/);
	});

	it('renders the Japanese flow criterion with Japanese speaker labels', () => {
		const prompt = renderRubric(builtin('tone-flow-ja'), {
			character: socratesJa,
			dialogue: dialogueJa,
			criterion: 'flow'
		});
		expect(prompt).toContain(
			'ソクラテス：正義とは何だと思うかね？\nユーザー：皆に同じものを与えることです。'
		);
		expect(prompt).toContain('0: 意味をなしていない');
		expect(prompt).toContain('0〜4の段階');
		expect(prompt).not.toMatch(/\{\{/);
	});

	it('renders the 1–7 personality rubric in both languages with its only criterion by default', () => {
		const en = renderRubric(builtin('personality-en'), {
			character: socratesEn,
			dialogue: dialogueEn
		});
		expect(en).toContain('Rate on the scale from 1 to 7');
		expect(en).toContain('score alone, as a single digit, on the last line');
		const ja = renderRubric(builtin('personality-ja'), {
			character: socratesJa,
			dialogue: dialogueJa
		});
		expect(ja).toContain('1〜7の段階で採点する');
	});

	it('names the problem for an unknown criterion or placeholder', () => {
		expect(() =>
			renderRubric(builtin('tone-flow-en'), { character: socratesEn, dialogue: dialogueEn })
		).toThrow(/has 2 criteria/);
		expect(() =>
			renderRubric(builtin('tone-flow-en'), {
				character: socratesEn,
				dialogue: dialogueEn,
				criterion: 'humour'
			})
		).toThrow(/no criterion "humour" \(has tone, flow\)/);
		const broken = { ...builtin('personality-en'), template: '{{dialogue}} {{charcter}}' };
		expect(() => renderRubric(broken, { character: socratesEn, dialogue: dialogueEn })).toThrow(
			/unknown placeholder \{\{charcter\}\}/
		);
		expect(validateRubric(broken)).toEqual(['template: unknown placeholder {{charcter}}']);
	});

	it('ships valid built-in rubrics', () => {
		for (const r of BUILTIN_RUBRICS) expect(validateRubric(r), r.key).toEqual([]);
	});
});

describe('judging', () => {
	it('judges locally: comment from generated text, score from digit probabilities after it', async () => {
		const calls: { modelPrefix: string; ids: number[] }[] = [];
		const engine = {
			generate: async () => ({ text: 'Sounds like him.\n3', tokens: 5 }),
			nextTokenProbabilities: async (input: { modelPrefix: string }, ids: number[]) => {
				calls.push({ modelPrefix: input.modelPrefix, ids });
				return [0, 0, 0, 1, 1];
			}
		};
		const tokenizer = { encode: (text: string) => [1000 + Number(text)] };
		const judgment = await judgeDialogueLocally({
			rubric: builtin('tone-flow-en'),
			character: socratesEn,
			dialogue: dialogueEn,
			engine,
			tokenizer,
			judge: { model: 'gemma-2-2b-it', adapterId: 'a1' }
		});
		expect(calls).toEqual([
			{ modelPrefix: 'Sounds like him.\n', ids: [1000, 1001, 1002, 1003, 1004] },
			{ modelPrefix: 'Sounds like him.\n', ids: [1000, 1001, 1002, 1003, 1004] }
		]);
		expect(judgment.scores.tone).toEqual({ score: 3.5, distribution: [0, 0, 0, 0.5, 0.5] });
		expect(judgment).toMatchObject({
			dialogueId: 'd1',
			rubricId: builtinRubricId('tone-flow-en'),
			rubricKey: 'tone-flow-en',
			rubricVersion: 1,
			judge: { kind: 'local', model: 'gemma-2-2b-it', adapterId: 'a1', temperature: 0 }
		});
		expect(judgment.comment).toBe('[tone] Sounds like him.\n\n[flow] Sounds like him.');
	});

	it('judges remotely over OpenAI-compatible chat completions with the key in the Authorization header only', async () => {
		const { fetch: fakeFetch, requests } = judgeServer(() => 'Reasoning…\n6');
		const judgment = await judgeDialogueRemotely({
			rubric: builtin('personality-en'),
			character: socratesEn,
			dialogue: dialogueEn,
			settings: {
				endpoint: 'https://judge.example/',
				apiKey: 'sk-test',
				model: 'gpt-4o-mini',
				temperature: 0.2,
				fetch: fakeFetch
			}
		});
		expect(requests[0].url).toBe('https://judge.example/v1/chat/completions');
		expect((requests[0].init.headers as Record<string, string>).Authorization).toBe(
			'Bearer sk-test'
		);
		expect(requests[0].body).toMatchObject({
			model: 'gpt-4o-mini',
			temperature: 0.2,
			messages: [{ role: 'user' }]
		});
		expect(judgment.scores.personality).toEqual({ score: 6 });
		expect(judgment.comment).toBe('Reasoning…');
		expect(judgment.judge).toEqual({
			kind: 'remote',
			model: 'gpt-4o-mini',
			endpoint: 'https://judge.example/',
			temperature: 0.2
		});
		expect(JSON.stringify(judgment)).not.toContain('sk-test');
	});

	it('reports the HTTP status of a failing remote judge', async () => {
		const { fetch: fakeFetch } = judgeServer(
			() => new Response('{"error":"bad key"}', { status: 401, statusText: 'Unauthorized' })
		);
		await expect(
			judgeDialogueRemotely({
				rubric: builtin('personality-en'),
				character: socratesEn,
				dialogue: dialogueEn,
				settings: { endpoint: 'http://localhost:8080/v1', model: 'm', fetch: fakeFetch }
			})
		).rejects.toThrow(/HTTP 401 Unauthorized: \{"error":"bad key"\}/);
		expect(chatCompletionsUrl('http://localhost:8080/v1/')).toBe(
			'http://localhost:8080/v1/chat/completions'
		);
		expect(() => chatCompletionsUrl('localhost')).toThrow(/must start with http/);
	});
});
