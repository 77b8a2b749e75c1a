/**
 * Training examples: a chat `{"messages": [{role, content}, …]}` rendered with Gemma's template and
 * tokenized piece by piece into `{input_ids, labels}` (labels −100 where not supervised; the model
 * shifts them, see labels.ts), or a pre-tokenized `{input_ids, labels}` row validated.
 *
 * Rendering (docs/specs/gemma2.md, "Chat template"):
 *   <bos><start_of_turn>user\n{content|trim}<end_of_turn>\n<start_of_turn>model\n{content|trim}<end_of_turn>\n …
 * By default only the model turns' `{content}<end_of_turn>` is supervised (the seeds found a model
 * that never saw its turn end keeps rambling); the "\n" after it and everything else are −100.
 */

import { IGNORE_INDEX } from './labels';

export interface ChatTokenizer {
	/** Token ids of `text`; `addBos` prepends <bos>. Special-token strings must map to their ids. */
	encode(text: string, opts: { addBos: boolean }): number[];
}

export interface TrainingExample {
	input_ids: number[];
	labels: number[];
}

export interface ChatMessage {
	role: string;
	content: string;
}

export interface ExampleOptions {
	/** 'model' (default): model turns' content + <end_of_turn>; 'all': every token. */
	supervise?: 'model' | 'all';
	/** Put a system message in front of the first user turn, joined with "\n\n" (else: error). */
	systemAsPrefix?: boolean;
	/** Vocabulary size, to validate pre-tokenized ids. */
	vocabSize?: number;
}

/** A bad example; names the line (1-based, in a JSONL file) and the field. */
export class ExampleError extends Error {
	constructor(
		readonly line: number,
		readonly field: string,
		message: string
	) {
		super(`line ${line}, ${field}: ${message}`);
		this.name = 'ExampleError';
	}
}

/**
 * One chat → {input_ids, labels}. Roles: user, then model/assistant ("assistant" is rendered as
 * "model"), alternating, starting with user; a leading system message only with systemAsPrefix.
 */
export function chatToExample(
	row: unknown,
	tokenizer: ChatTokenizer,
	opts: ExampleOptions = {},
	line = 1
): TrainingExample {
	const supervise = opts.supervise ?? 'model';
	if (!row || typeof row !== 'object' || Array.isArray(row))
		throw new ExampleError(line, '(row)', 'expected a JSON object');
	const messages = (row as Record<string, unknown>).messages;
	if (!Array.isArray(messages) || messages.length === 0)
		throw new ExampleError(line, 'messages', 'expected a non-empty list of {role, content}');
	const turns: { role: 'user' | 'model'; content: string }[] = [];
	let system: string | null = null;
	messages.forEach((m, i) => {
		const f = `messages[${i}]`;
		if (!m || typeof m !== 'object') throw new ExampleError(line, f, 'expected {role, content}');
		const { role, content } = m as Record<string, unknown>;
		if (typeof content !== 'string')
			throw new ExampleError(line, `${f}.content`, 'expected a string');
		if (role === 'system') {
			if (!opts.systemAsPrefix)
				throw new ExampleError(
					line,
					`${f}.role`,
					'Gemma has no system role; enable "system as prefix" to put it before the first user turn'
				);
			if (i !== 0) throw new ExampleError(line, `${f}.role`, 'a system message must come first');
			system = content.trim();
			return;
		}
		const r = role === 'assistant' ? 'model' : role;
		if (r !== 'user' && r !== 'model')
			throw new ExampleError(
				line,
				`${f}.role`,
				`unknown role ${JSON.stringify(role)} (user, model/assistant, system)`
			);
		const expected = turns.length % 2 === 0 ? 'user' : 'model';
		if (r !== expected)
			throw new ExampleError(
				line,
				`${f}.role`,
				`expected ${expected}: roles alternate user/model, starting with user`
			);
		if (content.trim() === '') throw new ExampleError(line, `${f}.content`, 'is empty');
		turns.push({ role: r, content: content.trim() });
	});
	if (!turns.some((t) => t.role === 'model'))
		throw new ExampleError(line, 'messages', 'has no model turn to learn from');
	if (turns[turns.length - 1].role !== 'model')
		throw new ExampleError(
			line,
			`messages[${messages.length - 1}].role`,
			'the last message must be a model turn'
		);
	if (system !== null && system !== '') turns[0].content = `${system}\n\n${turns[0].content}`;

	const input_ids: number[] = [];
	const labels: number[] = [];
	let first = true;
	const push = (text: string, supervised: boolean) => {
		const ids = tokenizer.encode(text, { addBos: first });
		first = false;
		for (const id of ids) {
			input_ids.push(id);
			labels.push(supervised || supervise === 'all' ? id : IGNORE_INDEX);
		}
	};
	for (const t of turns) {
		if (t.role === 'user') push(`<start_of_turn>user\n${t.content}<end_of_turn>\n`, false);
		else {
			push('<start_of_turn>model\n', false);
			push(`${t.content}<end_of_turn>`, true);
			push('\n', false);
		}
	}
	return { input_ids, labels };
}

/** Validate a pre-tokenized row: integer ids (within the vocabulary), labels of the same length. */
export function validateTokenizedExample(
	row: unknown,
	opts: ExampleOptions = {},
	line = 1
): TrainingExample {
	if (!row || typeof row !== 'object' || Array.isArray(row))
		throw new ExampleError(line, '(row)', 'expected a JSON object');
	const { input_ids, labels } = row as Record<string, unknown>;
	const V = opts.vocabSize;
	if (!Array.isArray(input_ids) || input_ids.length < 2)
		throw new ExampleError(line, 'input_ids', 'expected a list of at least 2 token ids');
	input_ids.forEach((id, i) => {
		if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || (V !== undefined && id >= V))
			throw new ExampleError(
				line,
				`input_ids[${i}]`,
				`${JSON.stringify(id)} is not a token id${V !== undefined ? ` in [0, ${V})` : ''}`
			);
	});
	let lab: number[];
	if (labels === undefined) lab = [...(input_ids as number[])];
	else {
		if (!Array.isArray(labels)) throw new ExampleError(line, 'labels', 'expected a list');
		if (labels.length !== input_ids.length)
			throw new ExampleError(
				line,
				'labels',
				`length ${labels.length} ≠ input_ids length ${input_ids.length} (labels are shifted by the model, not by you)`
			);
		labels.forEach((id, i) => {
			if (id === IGNORE_INDEX) return;
			if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || (V !== undefined && id >= V))
				throw new ExampleError(
					line,
					`labels[${i}]`,
					`${JSON.stringify(id)} is neither -100 nor a token id`
				);
		});
		lab = labels as number[];
	}
	if (!lab.slice(1).some((x) => x !== IGNORE_INDEX))
		throw new ExampleError(line, 'labels', 'no supervised token (labels[0] is never a target)');
	return { input_ids: [...(input_ids as number[])], labels: [...lab] };
}

/**
 * A JSONL file of chats and/or pre-tokenized rows → examples, with every bad line reported
 * (not just the first). Blank lines are skipped.
 */
export function parseExamplesJsonl(
	text: string,
	tokenizer: ChatTokenizer,
	opts: ExampleOptions = {}
): { examples: TrainingExample[]; errors: ExampleError[] } {
	const examples: TrainingExample[] = [];
	const errors: ExampleError[] = [];
	text.split(/\r?\n/).forEach((raw, i) => {
		const line = i + 1;
		if (raw.trim() === '') return;
		try {
			let row: unknown;
			try {
				row = JSON.parse(raw);
			} catch (e) {
				throw new ExampleError(line, '(row)', `not valid JSON (${(e as Error).message})`);
			}
			const isTokenized = !!row && typeof row === 'object' && 'input_ids' in (row as object);
			examples.push(
				isTokenized
					? validateTokenizedExample(row, opts, line)
					: chatToExample(row, tokenizer, opts, line)
			);
		} catch (e) {
			if (e instanceof ExampleError) errors.push(e);
			else throw e;
		}
	});
	return { examples, errors };
}
