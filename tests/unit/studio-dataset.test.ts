import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { DialogueTurn, TrainingExample } from '../../src/lib/data/types';
import {
	applyPromptVariant,
	buildDataset,
	computeDatasetStatistics,
	defaultRecipe,
	renderGemmaExample,
	splitTrainEval,
	windowDialogue
} from '../../src/lib/studio/dataset';
import { deriveSeed, seededShuffle } from '../../src/lib/studio/random';
import { mulberry32 } from '../../src/lib/random';
import { StudioDatabase, newId } from '../../src/lib/data/db';
import { curatedId, seedCuratedContent } from '../../src/lib/studio/curated';
import { buildDatasetFromDb } from '../../src/lib/studio/dataset';
import type { Dialogue } from '../../src/lib/data/types';

const t = (role: 'user' | 'model', content: string): DialogueTurn => ({ role, content });
/** A generated-style dialogue: the character's opening question first, then 3 exchanges. */
const openingDialogue: DialogueTurn[] = [
	t('model', 'Q0'),
	t('user', 'U1'),
	t('model', 'M1'),
	t('user', 'U2'),
	t('model', 'M2'),
	t('user', 'U3'),
	t('model', 'M3')
];
const contents = (examples: TrainingExample[]) =>
	examples.map((e) => e.messages.map((m) => m.content).join('|'));

const socratesEn = {
	name: 'Socrates',
	language: 'en' as const,
	shortPrefix: 'Socrates.',
	longPrefix: 'You are Socrates, the ancient Greek philosopher.'
};
const socratesJa = {
	name: 'ソクラテス',
	language: 'ja' as const,
	shortPrefix: 'ソクラテスさん。',
	longPrefix: 'あなたは古代ギリシャの哲学者ソクラテスです。'
};

describe('windowDialogue', () => {
	it('pairs every user turn with the following model reply and leaves the opening question out', () => {
		expect(contents(windowDialogue(openingDialogue, { kind: 'exchange' }))).toEqual([
			'U1|M1',
			'U2|M2',
			'U3|M3'
		]);
	});

	it('makes overlapping 4-utterance windows that start on user turns (stride 2)', () => {
		expect(contents(windowDialogue(openingDialogue, { kind: 'utterances', size: 4 }))).toEqual([
			'U1|M1|U2|M2',
			'U2|M2|U3|M3'
		]);
	});

	it('gives no window when the dialogue is shorter than the window', () => {
		expect(windowDialogue(openingDialogue, { kind: 'utterances', size: 8 })).toEqual([]);
	});

	it('rejects odd window sizes', () => {
		expect(() => windowDialogue(openingDialogue, { kind: 'utterances', size: 3 })).toThrow(
			/even integer ≥ 2.*got 3/
		);
	});

	it('leaves out windows that contain a turn the reviewer rejected', () => {
		const turns = openingDialogue.map((turn, i) => (i === 4 ? { ...turn, rejected: true } : turn));
		expect(contents(windowDialogue(turns, { kind: 'exchange' }))).toEqual(['U1|M1', 'U3|M3']);
		expect(contents(windowDialogue(turns, { kind: 'utterances', size: 4 }))).toEqual([]);
	});

	it('windows a dialogue that starts with a user turn from its first turn', () => {
		expect(contents(windowDialogue(openingDialogue.slice(1), { kind: 'exchange' }))).toEqual([
			'U1|M1',
			'U2|M2',
			'U3|M3'
		]);
	});
});

describe('prompt variants', () => {
	const example: TrainingExample = {
		messages: [
			{ role: 'user', content: 'What is love?' },
			{ role: 'model', content: 'What do you think?' }
		]
	};
	const exampleJa: TrainingExample = {
		messages: [
			{ role: 'user', content: '愛とは何ですか？' },
			{ role: 'model', content: '君はどう思うかね？' }
		]
	};

	it('leaves the example unchanged for "none"', () => {
		expect(applyPromptVariant(example, 'none', socratesEn).messages[0].content).toBe(
			'What is love?'
		);
	});

	it('puts the English short and long prefixes before the first user utterance', () => {
		expect(applyPromptVariant(example, 'short', socratesEn).messages[0].content).toBe(
			'Socrates.\nWhat is love?'
		);
		expect(applyPromptVariant(example, 'long', socratesEn).messages[0].content).toBe(
			'You are Socrates, the ancient Greek philosopher.\nWhat is love?'
		);
		expect(applyPromptVariant(example, 'long', socratesEn).messages[1].content).toBe(
			'What do you think?'
		);
	});

	it('puts the Japanese short and long prefixes before the first user utterance', () => {
		expect(applyPromptVariant(exampleJa, 'short', socratesJa).messages[0].content).toBe(
			'ソクラテスさん。\n愛とは何ですか？'
		);
		expect(applyPromptVariant(exampleJa, 'long', socratesJa).messages[0].content).toBe(
			'あなたは古代ギリシャの哲学者ソクラテスです。\n愛とは何ですか？'
		);
	});

	it('derives prefixes from the name when the character has none', () => {
		expect(
			applyPromptVariant(exampleJa, 'short', { name: '綾乃', language: 'ja' }).messages[0].content
		).toBe('綾乃さん。\n愛とは何ですか？');
		expect(
			applyPromptVariant(example, 'long', { name: 'Ayano', language: 'en' }).messages[0].content
		).toBe('You are Ayano.\nWhat is love?');
	});

	it('prefixes only the first user turn of a multi-turn window', () => {
		const window: TrainingExample = {
			messages: [
				{ role: 'user', content: 'a' },
				{ role: 'model', content: 'b' },
				{ role: 'user', content: 'c' },
				{ role: 'model', content: 'd' }
			]
		};
		expect(applyPromptVariant(window, 'short', socratesEn).messages.map((m) => m.content)).toEqual([
			'Socrates.\na',
			'b',
			'c',
			'd'
		]);
	});
});

describe('seeded shuffle', () => {
	const items = Array.from({ length: 20 }, (_, i) => i);

	it('gives the same order for the same seed and a different order for another seed', () => {
		expect(seededShuffle(items, 7)).toEqual(seededShuffle(items, 7));
		expect(seededShuffle(items, 7)).not.toEqual(seededShuffle(items, 8));
		expect([...seededShuffle(items, 7)].sort((a, b) => a - b)).toEqual(items);
	});

	it('is pinned to mulberry32: seed 1 starts 0.6270739405… as in the reference implementation', () => {
		const random = mulberry32(1);
		expect([random(), random(), random()].map((x) => x.toFixed(8))).toEqual([
			'0.62707394',
			'0.00273572',
			'0.52744704'
		]);
		expect(seededShuffle([1, 2, 3, 4, 5], 42)).toEqual(seededShuffle([1, 2, 3, 4, 5], 42));
	});

	it('derives distinct, repeatable child seeds', () => {
		expect(deriveSeed(5, 0)).toBe(deriveSeed(5, 0));
		expect(
			new Set([deriveSeed(5, 0), deriveSeed(5, 1), deriveSeed(6, 0), deriveSeed(5, 0, 1)]).size
		).toBe(4);
	});
});

describe('train/eval split', () => {
	const examples = (n: number): TrainingExample[] =>
		Array.from({ length: n }, (_, i) => ({
			messages: [
				{ role: 'user', content: `u${i}` },
				{ role: 'model', content: `m${i}` }
			]
		}));

	it('sends 20% to eval when under the cap', () => {
		const { train, eval: evalSet } = splitTrainEval(examples(100), { seed: 1 });
		expect([train.length, evalSet.length]).toEqual([80, 20]);
	});

	it('caps eval at 50 by default and keeps the rest for training', () => {
		const { train, eval: evalSet } = splitTrainEval(examples(1000), { seed: 1 });
		expect([train.length, evalSet.length]).toEqual([950, 50]);
	});

	it('honours a custom cap and loses no example', () => {
		const all = examples(30);
		const { train, eval: evalSet } = splitTrainEval(all, { seed: 3, evalCap: 2 });
		expect(evalSet.length).toBe(2);
		expect(new Set([...train, ...evalSet].map((e) => e.messages[0].content)).size).toBe(30);
	});
});

describe('dataset statistics', () => {
	/** One token per character: easy to count by hand. */
	const charTokenizer = { encode: (text: string) => Array.from(text, (c) => c.codePointAt(0)!) };
	const overhead = '<start_of_turn>user\n<end_of_turn>\n'.length; // 34; "model" has the same length as "user"+1
	const example = (u: string, m: string): TrainingExample => ({
		messages: [
			{ role: 'user', content: u },
			{ role: 'model', content: m }
		]
	});

	it('counts the rendered Gemma turns, per example, per side, with min/max/average', () => {
		const stats = computeDatasetStatistics(
			[example('ab', 'xyz'), example('abcd', 'x')],
			charTokenizer,
			'short',
			'chars'
		);
		const user1 = overhead + 2;
		const model1 = overhead + 1 + 3;
		const user2 = overhead + 4;
		const model2 = overhead + 1 + 1;
		expect(stats).toEqual({
			examples: 2,
			totalTokens: user1 + model1 + user2 + model2,
			averageTokens: (user1 + model1 + user2 + model2) / 2,
			maxTokens: Math.max(user1 + model1, user2 + model2),
			minTokens: Math.min(user1 + model1, user2 + model2),
			averageUserTokens: (user1 + user2) / 2,
			averageModelTokens: (model1 + model2) / 2,
			variant: 'short',
			tokenizer: 'chars'
		});
	});

	it('renders exactly the Gemma template without <bos>', () => {
		expect(renderGemmaExample(example(' hi ', 'yo'))).toBe(
			'<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\nyo<end_of_turn>\n'
		);
	});

	it('reports zeros for an empty dataset', () => {
		expect(computeDatasetStatistics([], charTokenizer, 'none')).toMatchObject({
			examples: 0,
			totalTokens: 0,
			minTokens: 0,
			maxTokens: 0,
			averageTokens: 0
		});
	});
});

describe('buildDataset', () => {
	const dialogue = (
		id: string,
		status: Dialogue['status'],
		language: 'en' | 'ja' = 'en'
	): Dialogue => ({
		id,
		characterId: 'c',
		language,
		turns: openingDialogue,
		origin: 'generated',
		status,
		createdAt: 0,
		updatedAt: 0
	});

	it('uses accepted dialogues only, says why others were left out, and is deterministic', () => {
		const recipe = defaultRecipe('en', { variant: 'long', shuffleSeed: 9 });
		const input = {
			recipe,
			character: socratesEn,
			dialogues: [
				dialogue('a', 'accepted'),
				dialogue('b', 'rejected'),
				dialogue('c', 'accepted', 'ja')
			],
			tokenizer: { encode: (s: string) => [...s].map(() => 0) }
		};
		const built = buildDataset(input);
		expect(built.train.length + built.eval.length).toBe(3);
		expect(built.leftOut).toEqual([
			{ dialogueId: 'b', reason: 'status is rejected, not accepted' },
			{ dialogueId: 'c', reason: 'language is ja, the recipe is en' }
		]);
		expect(
			built.train.every((e) =>
				e.messages[0].content.startsWith('You are Socrates, the ancient Greek philosopher.\n')
			)
		).toBe(true);
		expect(buildDataset(input)).toEqual(built);
		expect(built.statistics?.examples).toBe(3);
	});
});

describe('buildDatasetFromDb', () => {
	it('builds from the curated Japanese set with the long variant and saves the dataset with statistics', async () => {
		const db = new StudioDatabase(`test-${newId()}`);
		await seedCuratedContent(db);
		const recipe = defaultRecipe('ja', {
			variant: 'long',
			sources: { curatedSet: 'socrates-exchanges-ja' }
		});
		const { dataset } = await buildDatasetFromDb(db, {
			name: 'ja long',
			recipe,
			characterId: curatedId('socrates-ja'),
			tokenizer: { encode: (s) => Array.from(s, () => 1) },
			tokenizerName: 'chars'
		});
		expect(dataset.eval.length).toBe(31); // round(155 × 0.2), under the cap of 50
		expect(dataset.train.length + dataset.eval.length).toBe(155);
		expect(
			dataset.train[0].messages[0].content.startsWith(
				'あなたは古代ギリシャの哲学者ソクラテスです。\n'
			)
		).toBe(true);
		expect(dataset.statistics).toMatchObject({
			examples: 155,
			variant: 'long',
			tokenizer: 'chars'
		});
		expect((await db.datasets.get(dataset.id))?.recipe).toEqual(recipe);
		db.close();
	});
});
