import { describe, expect, it } from 'vitest';
import {
	TrainingFileError,
	exportCsv,
	exportJsonl,
	parseCsv,
	parseJsonl
} from '../../src/lib/studio/formats';
import type { TrainingExample } from '../../src/lib/data/types';

function problemsOf(fn: () => unknown) {
	try {
		fn();
	} catch (error) {
		expect(error).toBeInstanceOf(TrainingFileError);
		return (error as TrainingFileError).problems;
	}
	throw new Error('expected a TrainingFileError');
}

const pair = (u: string, m: string): TrainingExample => ({
	messages: [
		{ role: 'user', content: u },
		{ role: 'model', content: m }
	]
});

describe('JSONL', () => {
	const good =
		'{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello?"}]}';

	it('reads user/assistant and user/model rows, skipping blank lines', () => {
		const text = `${good}\n\n{"messages":[{"role":"user","content":"正義とは？"},{"role":"model","content":"君はどう思うかね？"}]}\n`;
		const { examples, skipped } = parseJsonl(text);
		expect(examples).toEqual([pair('Hi', 'Hello?'), pair('正義とは？', '君はどう思うかね？')]);
		expect(skipped).toEqual([]);
	});

	it('reports bad JSON, wrong roles and empty content with their exact line numbers', () => {
		const text = [
			good, // 1
			'{"messages": [', // 2 bad JSON
			'{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}', // 3 two users
			'', // 4 blank
			'{"messages":[{"role":"user","content":"a"},{"role":"bot","content":"b"}]}', // 5 unknown role
			'{"messages":[{"role":"user","content":"   "},{"role":"assistant","content":"b"}]}', // 6 empty
			'{"messages":[{"role":"user","content":"a"}]}', // 7 no reply
			'{"text":"hello"}' // 8 no messages
		].join('\n');
		const problems = problemsOf(() => parseJsonl(text));
		expect(problems.map((p) => p.line)).toEqual([2, 3, 5, 6, 7, 8]);
		expect(problems[0].reason).toMatch(/^invalid JSON/);
		expect(problems[1].reason).toMatch(/message 2 has role "user", expected "assistant\/model"/);
		expect(problems[2].reason).toMatch(/unknown role "bot"/);
		expect(problems[3].reason).toMatch(/message 1 \(user\) has empty content/);
		expect(problems[4].reason).toMatch(/last message is a user turn/);
		expect(problems[5].reason).toMatch(/missing "messages" array/);
	});

	it('skips invalid rows only when asked, and still lists them', () => {
		const { examples, skipped } = parseJsonl(`${good}\nnot json\n${good}`, { skipInvalid: true });
		expect(examples.length).toBe(2);
		expect(skipped.map((p) => p.line)).toEqual([2]);
	});

	it('folds a leading system message into the first user turn and reports it', () => {
		const row =
			'{"messages":[{"role":"system","content":"You are Socrates."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello?"}]}';
		const { examples, notices } = parseJsonl(`${good}\n${row}`);
		expect(examples[1].messages[0].content).toBe('You are Socrates.\n\nHi');
		expect(notices).toEqual([{ line: 2, reason: expect.stringMatching(/system message folded/) }]);
	});

	it('rejects a system message in the middle', () => {
		const row =
			'{"messages":[{"role":"user","content":"Hi"},{"role":"system","content":"x"},{"role":"assistant","content":"Hello?"}]}';
		expect(problemsOf(() => parseJsonl(row))).toEqual([
			{ line: 1, reason: expect.stringMatching(/message 2 is a system message/) }
		]);
	});

	it('round-trips through export with either model role name', () => {
		const examples = [pair('a "quote"\nnew line', 'b？'), pair('日本語', 'かね？')];
		expect(parseJsonl(exportJsonl(examples)).examples).toEqual(examples);
		expect(exportJsonl(examples, { modelRole: 'model' })).toContain('"role":"model"');
	});
});

describe('CSV', () => {
	it('reads user,assistant with RFC 4180 quoting, multi-line fields, CRLF, a BOM and Japanese text', () => {
		const text =
			'\uFEFFuser,assistant\r\n"Hello, Socrates","What is ""hello"", my friend?"\r\n"line one\r\nline two",幸せとは何かね？\r\n';
		const { examples } = parseCsv(text);
		expect(examples).toEqual([
			pair('Hello, Socrates', 'What is "hello", my friend?'),
			pair('line one\r\nline two', '幸せとは何かね？')
		]);
	});

	it('accepts the prompt,response header', () => {
		expect(parseCsv('Prompt,Response\nhi,hello?\n').examples).toEqual([pair('hi', 'hello?')]);
	});

	it('reports an unterminated quote at the line where it opens', () => {
		const text = 'user,assistant\na,b?\n"never closed,c\nmore\n';
		expect(problemsOf(() => parseCsv(text))).toEqual([
			{ line: 3, reason: expect.stringMatching(/unterminated quoted field/) }
		]);
	});

	it('numbers rows by the physical line they start on, after multi-line fields', () => {
		const text = 'user,assistant\n"a\nb\nc",ok?\n,empty user\nx,y,z\ngood,fine?\nq,\n';
		const problems = problemsOf(() => parseCsv(text));
		expect(problems).toEqual([
			{ line: 5, reason: 'empty user field' },
			{ line: 6, reason: 'expected 2 fields (user,assistant), found 3' },
			{ line: 8, reason: 'empty assistant field' }
		]);
		const { examples, skipped } = parseCsv(text, { skipInvalid: true });
		expect(examples).toEqual([pair('a\nb\nc', 'ok?'), pair('good', 'fine?')]);
		expect(skipped.length).toBe(3);
	});

	it('rejects an unknown header and a stray quote in an unquoted field', () => {
		expect(problemsOf(() => parseCsv('question,answer\na,b\n'))).toEqual([
			{ line: 1, reason: expect.stringMatching(/expected user,assistant or prompt,response/) }
		]);
		expect(problemsOf(() => parseCsv('user,assistant\nsay "hi",ok\n'))).toEqual([
			{ line: 2, reason: expect.stringMatching(/double quote inside an unquoted field/) }
		]);
	});

	it('round-trips through export, with a BOM, CRLF and quoting', () => {
		const examples = [
			pair('a, b', 'say "why"?'),
			pair('多行\nの質問', '君はどう思うかね？'),
			pair(' padded ', 'x')
		];
		const csv = exportCsv(examples);
		expect(csv.startsWith('\uFEFFuser,assistant\r\n')).toBe(true);
		expect(parseCsv(csv).examples).toEqual(examples);
	});

	it('refuses to export a multi-turn example and names its index', () => {
		const window: TrainingExample = {
			messages: [...pair('a', 'b').messages, ...pair('c', 'd').messages]
		};
		expect(() => exportCsv([pair('a', 'b'), window])).toThrow(/example 1 has 4 messages/);
	});
});
