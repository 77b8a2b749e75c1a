import { describe, expect, it } from 'vitest';
import { filesFromMap } from '../../src/lib/model/files';
import { loadTokenizer, type Tokenizer } from '../../src/lib/model/tokenizer';
import { tinyTokenizerFiles } from '../../scripts/make-tiny-model';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

const tokenizer: Tokenizer = await loadTokenizer(
	filesFromMap(new Map(tinyTokenizerFiles()), 'tiny tokenizer')
);

const TEXTS = [
	'Hello world, how are you?',
	'  two  spaces, a tab\tand a newline\n end ',
	'こんにちは、私は日本語を話します。漢字とカタカナ！',
	'emoji 🎉👩‍💻 and accents: café, naïve',
	''
];

describe('tiny Gemma-like tokenizer', () => {
	it('has exactly the model vocabulary with Gemma special ids', () => {
		expect(tokenizer.vocabSize).toBe(TINY_CONFIG.vocabSize);
		const ids: [string, number][] = [
			['<pad>', 0],
			['<eos>', 1],
			['<bos>', 2],
			['<unk>', 3],
			['<start_of_turn>', 106],
			['<end_of_turn>', 107],
			['<0x00>', 108],
			['<0xFF>', 363]
		];
		for (const [token, id] of ids) {
			expect(tokenizer.tokenToId(token)).toBe(id);
			expect(tokenizer.idToToken(id)).toBe(token);
		}
		expect(tokenizer.bosId).toBe(2);
		expect(tokenizer.eosId).toBe(1);
	});

	it('round-trips English, Japanese and emoji (byte fallback), never producing <unk>', () => {
		for (const text of TEXTS) {
			const ids = tokenizer.encode(text);
			expect(ids.every((id) => id >= 0 && id < TINY_CONFIG.vocabSize && id !== 3)).toBe(true);
			expect(tokenizer.decode(ids)).toBe(text);
		}
		// Characters outside the vocabulary fall back to their UTF-8 bytes: 🎉 = F0 9F 8E 89.
		expect(tokenizer.encode('🎉').map((id) => tokenizer.idToToken(id))).toEqual([
			'<0xF0>',
			'<0x9F>',
			'<0x8E>',
			'<0x89>'
		]);
		// Spaces become '▁' pieces; merged pieces are used where the vocabulary has them.
		expect(tokenizer.encode(' the').map((id) => tokenizer.idToToken(id))).toEqual(['▁the']);
		expect(tokenizer.encode('こんにちは').map((id) => tokenizer.idToToken(id))).toEqual([
			'こんにちは'
		]);
	});

	it('adds BOS only when asked, and maps special-token text to its id', () => {
		expect(tokenizer.encode('hi', { addBos: true })[0]).toBe(2);
		expect(tokenizer.encode('hi')[0]).not.toBe(2);
		expect(tokenizer.encode('<start_of_turn>user')[0]).toBe(106);
		expect(tokenizer.decode([2, ...tokenizer.encode('hi'), 107], { skipSpecialTokens: true })).toBe(
			'hi'
		);
	});

	it('streams text without ever splitting a UTF-8 character', () => {
		for (const text of TEXTS) {
			const decoder = tokenizer.streamDecoder();
			let streamed = '';
			for (const id of tokenizer.encode(text)) {
				const piece = decoder.push(id);
				expect(piece).not.toContain('\uFFFD');
				streamed += piece;
			}
			streamed += decoder.flush();
			expect(streamed).toBe(text);
		}
		// 漢 = E6 BC A2 arrives byte by byte: nothing until the last byte.
		const decoder = tokenizer.streamDecoder();
		const bytes = tokenizer.encode('漢');
		expect(bytes.length).toBe(3);
		expect(bytes.map((id) => decoder.push(id))).toEqual(['', '', '漢']);
	});
});

describe('chat template (Gemma 2, from tokenizer_config.json)', () => {
	const dialogue = [
		{ role: 'user' as const, content: '  What is virtue? ' },
		{ role: 'assistant' as const, content: 'Let us ask together.\n' },
		{ role: 'user' as const, content: 'Where do we start?' }
	];

	it('renders turns as gemma2.md shows: trimmed, assistant as model, generation prompt last', () => {
		expect(tokenizer.renderChat(dialogue, { addGenerationPrompt: true })).toBe(
			'<bos><start_of_turn>user\nWhat is virtue?<end_of_turn>\n' +
				'<start_of_turn>model\nLet us ask together.<end_of_turn>\n' +
				'<start_of_turn>user\nWhere do we start?<end_of_turn>\n' +
				'<start_of_turn>model\n'
		);
		expect(
			tokenizer.renderChat(
				[
					{ role: 'user', content: 'Hi' },
					{ role: 'model', content: 'Hello' }
				],
				{ addGenerationPrompt: false }
			)
		).toBe('<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n');
	});

	it('places a character prompt at the start of the first user turn (Gemma has no system role)', () => {
		expect(
			tokenizer.renderChat(dialogue.slice(0, 1), {
				characterPrompt: 'You are Socrates. ',
				addGenerationPrompt: true
			})
		).toBe(
			'<bos><start_of_turn>user\nYou are Socrates.\n\nWhat is virtue?<end_of_turn>\n<start_of_turn>model\n'
		);
	});

	it('rejects what the official template rejects: a system turn, roles out of order', () => {
		expect(() =>
			tokenizer.renderChat([{ role: 'system' as 'user', content: 'x' }], {
				addGenerationPrompt: true
			})
		).toThrow(/System role/);
		expect(() =>
			tokenizer.renderChat([{ role: 'model', content: 'x' }], { addGenerationPrompt: true })
		).toThrow(/alternate/);
	});

	it('encodes a chat with exactly one BOS and the turn markers as single ids', () => {
		const ids = tokenizer.encodeChat(dialogue, { addGenerationPrompt: true });
		expect(ids[0]).toBe(2);
		expect(ids.filter((id) => id === 2).length).toBe(1);
		expect(ids[1]).toBe(106);
		expect(ids.filter((id) => id === 106).length).toBe(4);
		expect(ids.filter((id) => id === 107).length).toBe(3);
		expect(tokenizer.decode(ids)).toBe(
			tokenizer.renderChat(dialogue, { addGenerationPrompt: true })
		);
	});
});
