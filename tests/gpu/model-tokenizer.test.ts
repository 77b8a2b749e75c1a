/** The tokenizer in the browser: transformers.js must build it from the folder's JSON with no network. */
import { expect, it } from 'vitest';
import { filesFromUrl } from '../../src/lib/model/files';
import { loadTokenizer } from '../../src/lib/model/tokenizer';

it('loads the tiny tokenizer from a served folder and round-trips Japanese while streaming', async () => {
	const requested: string[] = [];
	const files = filesFromUrl(`${location.origin}/fixtures/tiny-hf`, {
		fetch: (input, init) => {
			requested.push(String(input));
			return fetch(input, init);
		}
	});
	const tokenizer = await loadTokenizer(files);
	const text = 'こんにちは、世界！ Hello 🎉';
	const ids = tokenizer.encode(text);
	expect(tokenizer.decode(ids)).toBe(text);
	const decoder = tokenizer.streamDecoder();
	const pieces = ids.map((id) => decoder.push(id));
	expect(pieces.join('') + decoder.flush()).toBe(text);
	expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
	expect(
		tokenizer
			.encodeChat([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })
			.slice(0, 2)
	).toEqual([2, 106]);
	expect(requested.map((u) => u.split('/').pop())).toEqual([
		'tokenizer.json',
		'tokenizer_config.json'
	]);
});
