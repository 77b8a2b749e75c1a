/**
 * The model's own tokenizer and chat template, read from its folder (tokenizer.json +
 * tokenizer_config.json) by the two libraries transformers.js itself builds its tokenizers from:
 * `@huggingface/tokenizers` (pure JS) and `@huggingface/jinja` (the chat template). Not transformers.js
 * itself: it would bring onnxruntime-web (a 27 MB wasm) that nothing here runs. Nothing is fetched:
 * the parsed JSON is handed straight to `Tokenizer`, so this works offline, in the worker, in node
 * and in tests.
 *
 * Gemma's chat template has no system role: a character prompt goes at the start of the first
 * user turn. A rendered chat already begins with "<bos>", so `encodeChat` adds no second BOS.
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from './config';
import { readJson, type ModelFiles } from './files';

export interface ChatMessage {
	role: 'user' | 'assistant' | 'model';
	content: string;
}

export interface RenderChatOptions {
	/** Instructions for the model's character, prepended to the first user turn. */
	characterPrompt?: string;
	/** End with "<start_of_turn>model\n" so the model answers next. */
	addGenerationPrompt: boolean;
}

/** Streams decoded text token by token without ever splitting a UTF-8 character. */
export interface StreamDecoder {
	/** Text that became complete with this token ('' while a multi-byte character is incomplete). */
	push(id: number): string;
	/** Whatever is left (an incomplete character decodes to U+FFFD). */
	flush(): string;
}

export interface Tokenizer {
	vocabSize: number;
	bosId: number;
	eosId: number;
	/** Token ids of the text; `addBos` (default false) puts the BOS id first. Special-token text ("<end_of_turn>") maps to its id. */
	encode(text: string, options?: { addBos?: boolean }): number[];
	decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
	streamDecoder(options?: { skipSpecialTokens?: boolean }): StreamDecoder;
	renderChat(messages: ChatMessage[], options: RenderChatOptions): string;
	/** Token ids of the rendered chat, with exactly one BOS (the template's). */
	encodeChat(messages: ChatMessage[], options: RenderChatOptions): number[];
	tokenToId(token: string): number | undefined;
	idToToken(id: number): string | undefined;
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** Number of bytes of a UTF-8 sequence that starts with `lead` (1 for continuation/invalid bytes). */
function utf8SequenceLength(lead: number): number {
	if (lead >= 0xf0 && lead <= 0xf7) return 4;
	if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
	if (lead >= 0xc0) return 2;
	return 1;
}

/** A special token named in tokenizer_config.json: a string or an `AddedToken` object. */
function configToken(config: Record<string, unknown>, key: string): string | undefined {
	const item = config[key];
	if (typeof item === 'string') return item;
	if (
		item &&
		typeof item === 'object' &&
		typeof (item as { content?: unknown }).content === 'string'
	)
		return (item as { content: string }).content;
	return undefined;
}

/** The template's text: a string, or the `default` of a list of named templates. */
function chatTemplateText(config: Record<string, unknown>): string {
	const template = config.chat_template;
	if (typeof template === 'string') return template;
	if (Array.isArray(template)) {
		const named = template.find((t) => t?.name === 'default') ?? template[0];
		if (typeof named?.template === 'string') return named.template;
	}
	throw new ModelFormatError('tokenizer_config.json', 'chat_template', 'required key is missing');
}

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'];

/** Build a tokenizer from the parsed tokenizer.json and tokenizer_config.json. */
export function tokenizerFromJson(
	tokenizerJson: Record<string, unknown>,
	tokenizerConfig: Record<string, unknown>
): Tokenizer {
	let inner: HfTokenizer;
	try {
		inner = new HfTokenizer(tokenizerJson, tokenizerConfig);
	} catch (e) {
		throw new ModelFormatError(
			'tokenizer.json',
			null,
			`cannot build the tokenizer: ${(e as Error).message}`
		);
	}
	const template = new Template(chatTemplateText(tokenizerConfig));
	const specialTokens: Record<string, string> = {};
	for (const key of SPECIAL_TOKEN_KEYS) {
		const token = configToken(tokenizerConfig, key);
		if (token !== undefined) specialTokens[key] = token;
	}
	const vocab = inner.get_vocab();
	const idToToken: string[] = [];
	for (const [token, id] of vocab) idToToken[id] = token;
	const tokenId = (key: string) => {
		const token = specialTokens[key];
		return token === undefined ? undefined : inner.token_to_id(token);
	};
	const bosId = tokenId('bos_token');
	const eosId = tokenId('eos_token');
	if (bosId === undefined)
		throw new ModelFormatError('tokenizer_config.json', 'bos_token', 'no BOS token');
	if (eosId === undefined)
		throw new ModelFormatError('tokenizer_config.json', 'eos_token', 'no EOS token');

	const decode = (ids: number[], options: { skipSpecialTokens?: boolean } = {}) =>
		ids.length === 0
			? ''
			: inner.decode(ids, {
					skip_special_tokens: options.skipSpecialTokens ?? false,
					clean_up_tokenization_spaces: false
				});

	const renderChat = (messages: ChatMessage[], options: RenderChatOptions): string => {
		const turns = messages.map((m) => ({ role: m.role, content: m.content }));
		if (options.characterPrompt) {
			const first = turns.findIndex((m) => m.role === 'user');
			if (first === -1) turns.unshift({ role: 'user', content: options.characterPrompt });
			else
				turns[first] = {
					role: 'user',
					content: `${options.characterPrompt.trim()}\n\n${turns[first].content.trim()}`
				};
		}
		return template.render({
			messages: turns,
			add_generation_prompt: options.addGenerationPrompt,
			...specialTokens
		});
	};

	const encodeRaw = (text: string) => inner.encode(text, { add_special_tokens: false }).ids;

	return {
		vocabSize: vocab.size,
		bosId,
		eosId,
		encode(text, options = {}) {
			const ids = encodeRaw(text);
			return options.addBos ? [bosId, ...ids] : ids;
		},
		decode,
		streamDecoder(options = {}) {
			// Token ids not yet turned into text: a trailing run of byte tokens that is not yet a
			// whole UTF-8 character waits for the bytes that complete it.
			let pending: number[] = [];
			const skip = options.skipSpecialTokens ?? false;
			const completeCount = (): number => {
				// Walk back over trailing byte tokens to find the last sequence's lead byte.
				let i = pending.length - 1;
				const bytes: number[] = [];
				while (i >= 0) {
					const m = BYTE_TOKEN.exec(idToToken[pending[i]] ?? '');
					if (!m) break;
					const byte = parseInt(m[1], 16);
					bytes.unshift(byte);
					if ((byte & 0xc0) !== 0x80) {
						// A lead (or ASCII) byte: is its sequence complete?
						return bytes.length >= utf8SequenceLength(byte) ? pending.length : i;
					}
					if (bytes.length >= 4) return pending.length;
					i--;
				}
				return pending.length;
			};
			return {
				push(id) {
					pending.push(id);
					const n = completeCount();
					if (n === 0) return '';
					const ready = pending.slice(0, n);
					pending = pending.slice(n);
					return decode(ready, { skipSpecialTokens: skip });
				},
				flush() {
					const text = decode(pending, { skipSpecialTokens: skip });
					pending = [];
					return text;
				}
			};
		},
		renderChat,
		encodeChat(messages, options) {
			// The template writes "<bos>" itself; the post-processor must not add another.
			return encodeRaw(renderChat(messages, options));
		},
		tokenToId(token) {
			return vocab.get(token);
		},
		idToToken(id) {
			return idToToken[id];
		}
	};
}

/** Load the tokenizer of a model folder (tokenizer.json + tokenizer_config.json). */
export async function loadTokenizer(files: ModelFiles): Promise<Tokenizer> {
	const tokenizerJson = await readJson(files, 'tokenizer.json');
	const tokenizerConfig = await readJson(files, 'tokenizer_config.json');
	return tokenizerFromJson(tokenizerJson, tokenizerConfig);
}
