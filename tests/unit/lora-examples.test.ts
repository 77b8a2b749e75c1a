import { describe, expect, it } from 'vitest';
import {
	chatToExample,
	ExampleError,
	parseExamplesJsonl,
	validateTokenizedExample,
	type ChatTokenizer
} from '../../src/lib/lora/examples';

/** Character-level tokenizer with Gemma's special tokens as single ids (bos 2, turn 106/107). */
const SPECIAL: Record<string, number> = {
	'<bos>': 2,
	'<start_of_turn>': 106,
	'<end_of_turn>': 107
};
const fake: ChatTokenizer = {
	encode(text, { addBos }) {
		const ids = addBos ? [2] : [];
		for (const piece of text.split(/(<bos>|<start_of_turn>|<end_of_turn>)/))
			if (piece in SPECIAL) ids.push(SPECIAL[piece]);
			else for (const ch of piece) ids.push(1000 + ch.codePointAt(0)!);
		return ids;
	}
};
const decode = (ids: number[]) =>
	ids
		.map((i) =>
			i === -100
				? '·'
				: (Object.keys(SPECIAL).find((k) => SPECIAL[k] === i) ?? String.fromCodePoint(i - 1000))
		)
		.join('');

describe('chat → {input_ids, labels}', () => {
	const chat = {
		messages: [
			{ role: 'user', content: '  What is justice? ' },
			{ role: 'model', content: 'Tell me first.\n' },
			{ role: 'user', content: 'Fairness.' },
			{ role: 'assistant', content: 'Is it?' }
		]
	};

	it('renders Gemma’s template and supervises only model content + <end_of_turn>', () => {
		const ex = chatToExample(chat, fake);
		expect(decode(ex.input_ids)).toBe(
			'<bos><start_of_turn>user\nWhat is justice?<end_of_turn>\n<start_of_turn>model\nTell me first.<end_of_turn>\n' +
				'<start_of_turn>user\nFairness.<end_of_turn>\n<start_of_turn>model\nIs it?<end_of_turn>\n'
		);
		expect(ex.labels.length).toBe(ex.input_ids.length);
		const supervised = decode(ex.labels).split('·').filter(Boolean);
		expect(supervised).toEqual(['Tell me first.<end_of_turn>', 'Is it?<end_of_turn>']);
		expect(ex.input_ids.filter((i) => i === 2)).toHaveLength(1); // one BOS
	});
	it('optionally supervises everything', () => {
		const ex = chatToExample(chat, fake, { supervise: 'all' });
		expect(ex.labels).toEqual(ex.input_ids);
	});
	it('a system message is an error, unless put before the first user turn with a blank line', () => {
		const sys = { messages: [{ role: 'system', content: 'You are Socrates.' }, ...chat.messages] };
		expect(() => chatToExample(sys, fake, {}, 7)).toThrow(
			'line 7, messages[0].role: Gemma has no system role'
		);
		const ex = chatToExample(sys, fake, { systemAsPrefix: true });
		expect(decode(ex.input_ids)).toMatch(
			/^<bos><start_of_turn>user\nYou are Socrates\.\n\nWhat is justice\?<end_of_turn>/
		);
	});
	it('roles must alternate user/model starting with user; errors name line and field', () => {
		const cases: [unknown, string][] = [
			[{ messages: [{ role: 'model', content: 'Hi' }] }, 'line 3, messages[0].role: expected user'],
			[
				{
					messages: [
						{ role: 'user', content: 'a' },
						{ role: 'user', content: 'b' }
					]
				},
				'line 3, messages[1].role: expected model'
			],
			[
				{
					messages: [
						{ role: 'user', content: 'a' },
						{ role: 'bot', content: 'b' }
					]
				},
				'line 3, messages[1].role: unknown role "bot"'
			],
			[
				{
					messages: [
						{ role: 'user', content: 'a' },
						{ role: 'model', content: 3 }
					]
				},
				'line 3, messages[1].content: expected a string'
			],
			[
				{
					messages: [
						{ role: 'user', content: 'a' },
						{ role: 'model', content: '  ' }
					]
				},
				'line 3, messages[1].content: is empty'
			],
			[{ messages: [{ role: 'user', content: 'a' }] }, 'line 3, messages: has no model turn'],
			[
				{
					messages: [
						{ role: 'user', content: 'a' },
						{ role: 'model', content: 'b' },
						{ role: 'user', content: 'c' }
					]
				},
				'line 3, messages[2].role: the last message must be a model turn'
			],
			[{ text: 'x' }, 'line 3, messages: expected a non-empty list']
		];
		for (const [row, msg] of cases) {
			expect(() => chatToExample(row, fake, {}, 3)).toThrow(ExampleError);
			expect(() => chatToExample(row, fake, {}, 3)).toThrow(msg);
		}
	});
});

describe('pre-tokenized rows and JSONL', () => {
	it('validates ids, label length and that something is supervised', () => {
		expect(validateTokenizedExample({ input_ids: [2, 5, 6], labels: [-100, 5, 6] })).toEqual({
			input_ids: [2, 5, 6],
			labels: [-100, 5, 6]
		});
		expect(validateTokenizedExample({ input_ids: [2, 5, 6] }).labels).toEqual([2, 5, 6]);
		expect(() => validateTokenizedExample({ input_ids: [2, 5, 6], labels: [5, 6] }, {}, 4)).toThrow(
			'line 4, labels: length 2 ≠ input_ids length 3'
		);
		expect(() =>
			validateTokenizedExample({ input_ids: [2, 500], labels: [-100, 5] }, { vocabSize: 256 }, 4)
		).toThrow('line 4, input_ids[1]: 500 is not a token id in [0, 256)');
		expect(() => validateTokenizedExample({ input_ids: [2, 5], labels: [2, -100] }, {}, 4)).toThrow(
			'line 4, labels: no supervised token'
		);
		expect(() =>
			validateTokenizedExample({ input_ids: [2, 5], labels: [-100, -3] }, {}, 4)
		).toThrow('line 4, labels[1]: -3 is neither -100');
	});
	it('a JSONL file mixes chats and tokenized rows, skips blank lines and reports every bad line', () => {
		const text = [
			JSON.stringify({
				messages: [
					{ role: 'user', content: 'a' },
					{ role: 'model', content: 'b' }
				]
			}),
			'',
			'{oops',
			JSON.stringify({ input_ids: [2, 7, 8], labels: [-100, -100, 8] }),
			JSON.stringify({ messages: [{ role: 'model', content: 'b' }] })
		].join('\n');
		const { examples, errors } = parseExamplesJsonl(text, fake);
		expect(examples).toHaveLength(2);
		expect(errors.map((e) => [e.line, e.field])).toEqual([
			[3, '(row)'],
			[5, 'messages[0].role']
		]);
	});
});
