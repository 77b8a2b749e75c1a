/**
 * Training-data files: JSONL (`{"messages": [...]}` per line) and CSV (one exchange per row).
 *
 * Nothing is dropped silently. A parse returns every problem as `{ line, reason }` (1-based physical
 * line numbers of the input text); when there are problems and the caller did not pass
 * `skipInvalid: true`, the parse throws a `TrainingFileError` carrying the same list.
 *
 * Roles: files may say `user`, `assistant` or `model`; `assistant` is stored as `model` (Gemma's
 * name). A leading `system` message is folded into the first user turn (Gemma has no system role;
 * the seeds put "You are Socrates" there too) and reported in `notices`; a system message anywhere
 * else is an error. A valid example alternates user/model, starts with user and ends with model.
 */
import type { ChatMessage, TrainingExample } from '../data/types';

export interface TrainingFileProblem {
	/** 1-based line of the input where the offending row (record) starts. */
	line: number;
	reason: string;
}

export interface TrainingFileParse {
	examples: TrainingExample[];
	/** Rows that were skipped (only non-empty when `skipInvalid: true`). */
	skipped: TrainingFileProblem[];
	/** Rows that were accepted with a change the user should know about (a folded system message). */
	notices: TrainingFileProblem[];
}

export interface TrainingFileParseOptions {
	/** Skip invalid rows (they are still listed in `skipped`). Default false: any invalid row throws. */
	skipInvalid?: boolean;
}

export class TrainingFileError extends Error {
	constructor(
		readonly format: 'jsonl' | 'csv',
		readonly problems: TrainingFileProblem[]
	) {
		const head = problems
			.slice(0, 5)
			.map((p) => `line ${p.line}: ${p.reason}`)
			.join('; ');
		const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
		super(`${format.toUpperCase()} file has ${problems.length} invalid row(s): ${head}${more}`);
		this.name = 'TrainingFileError';
	}
}

/** Checks a message list (roles already normalized) and returns the reason it is invalid, or null. */
export function validateExampleMessages(messages: ChatMessage[]): string | null {
	if (messages.length === 0) return 'no messages';
	for (let i = 0; i < messages.length; i++) {
		const expected = i % 2 === 0 ? 'user' : 'model';
		if (messages[i].role !== expected)
			return `message ${i + 1} has role "${messages[i].role}", expected "${expected === 'model' ? 'assistant/model' : 'user'}" (turns alternate, starting with user)`;
		if (messages[i].content.trim() === '')
			return `message ${i + 1} (${messages[i].role}) has empty content`;
	}
	if (messages[messages.length - 1].role !== 'model')
		return 'the last message is a user turn; an example must end with the assistant/model reply';
	return null;
}

function normalizeRole(role: unknown): 'user' | 'model' | 'system' | null {
	if (role === 'user') return 'user';
	if (role === 'assistant' || role === 'model') return 'model';
	if (role === 'system') return 'system';
	return null;
}

/** Parses one JSONL row's value into an example; returns a reason string when invalid. */
function exampleFromJsonValue(
	value: unknown
): { example: TrainingExample; notice?: string } | string {
	if (!value || typeof value !== 'object' || Array.isArray(value))
		return 'expected an object like {"messages": [...]}';
	const raw = (value as { messages?: unknown }).messages;
	if (!Array.isArray(raw)) return 'missing "messages" array';
	const messages: ChatMessage[] = [];
	let systemText: string | undefined;
	for (let i = 0; i < raw.length; i++) {
		const m = raw[i] as { role?: unknown; content?: unknown } | null;
		if (!m || typeof m !== 'object') return `message ${i + 1} is not an object`;
		const role = normalizeRole(m.role);
		if (role === null)
			return `message ${i + 1} has unknown role ${JSON.stringify(m.role)} (allowed: user, assistant, model, system)`;
		if (typeof m.content !== 'string')
			return `message ${i + 1} (${String(m.role)}) has no string "content"`;
		if (role === 'system') {
			if (i !== 0) return `message ${i + 1} is a system message; only the first message may be one`;
			systemText = m.content.trim();
			continue;
		}
		messages.push({ role, content: m.content });
	}
	const reason = validateExampleMessages(messages);
	if (reason) return reason;
	if (systemText) {
		messages[0] = { role: 'user', content: `${systemText}\n\n${messages[0].content}` };
		return {
			example: { messages },
			notice: 'system message folded into the first user turn (Gemma has no system role)'
		};
	}
	return { example: { messages } };
}

function finishParse(
	format: 'jsonl' | 'csv',
	examples: TrainingExample[],
	problems: TrainingFileProblem[],
	notices: TrainingFileProblem[],
	options: TrainingFileParseOptions
): TrainingFileParse {
	if (problems.length > 0 && !options.skipInvalid) throw new TrainingFileError(format, problems);
	return { examples, skipped: problems, notices };
}

/** Parses JSONL text. Blank lines are ignored; every other line must be one valid example. */
export function parseJsonl(
	text: string,
	options: TrainingFileParseOptions = {}
): TrainingFileParse {
	const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
	const examples: TrainingExample[] = [];
	const problems: TrainingFileProblem[] = [];
	const notices: TrainingFileProblem[] = [];
	lines.forEach((lineText, i) => {
		const line = i + 1;
		const trimmed = lineText.trim();
		if (trimmed === '') return;
		// not even the start of an object: said without a (slow, throwing) JSON.parse
		if (trimmed[0] !== '{') {
			problems.push({
				line,
				reason: `not a JSON object: a line must be {"messages": [...]}, got ${JSON.stringify(trimmed.slice(0, 40))}`
			});
			return;
		}
		let value: unknown;
		try {
			value = JSON.parse(lineText);
		} catch (error) {
			problems.push({ line, reason: `invalid JSON (${(error as Error).message})` });
			return;
		}
		const result = exampleFromJsonValue(value);
		if (typeof result === 'string') problems.push({ line, reason: result });
		else {
			examples.push(result.example);
			if (result.notice) notices.push({ line, reason: result.notice });
		}
	});
	return finishParse('jsonl', examples, problems, notices, options);
}

export interface JsonlExportOptions {
	/** Name written for the model's turns. Default 'assistant' (what most tools expect). */
	modelRole?: 'assistant' | 'model';
}

export function exportJsonl(examples: TrainingExample[], options: JsonlExportOptions = {}): string {
	const modelRole = options.modelRole ?? 'assistant';
	return examples
		.map((e) =>
			JSON.stringify({
				messages: e.messages.map((m) => ({
					role: m.role === 'model' ? modelRole : 'user',
					content: m.content
				}))
			})
		)
		.map((l) => `${l}\n`)
		.join('');
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180): fields separated by commas, records by CRLF or LF; a field in double quotes may
// contain commas, quotes (doubled) and line breaks. A UTF-8 BOM at the start is ignored.

export interface CsvRecord {
	/** 1-based line where the record starts. */
	line: number;
	fields: string[];
}

function countNewlines(s: string): number {
	let n = 0;
	for (let at = s.indexOf('\n'); at >= 0; at = s.indexOf('\n', at + 1)) n++;
	return n;
}

/** Index of the next match of `re` (a global character class) from `from`, or the end of `s`. */
function nextSpecial(s: string, from: number, re: RegExp): number {
	re.lastIndex = from;
	const m = re.exec(s);
	return m ? m.index : s.length;
}

/** Splits CSV text into records, in one linear pass (slices, not characters, are copied). */
export function parseCsvRecords(text: string): {
	records: CsvRecord[];
	problems: TrainingFileProblem[];
} {
	const src = text.replace(/^\uFEFF/, '');
	const records: CsvRecord[] = [];
	const problems: TrainingFileProblem[] = [];
	let line = 1;
	let i = 0;
	while (i < src.length) {
		const startLine = line;
		const fields: string[] = [];
		let field = '';
		let bad: string | null = null;
		let endOfRecord = false;
		let fieldStart = true;
		while (i < src.length && !endOfRecord) {
			const c = src[i];
			if (fieldStart && c === '"') {
				// Quoted field: copy slices between quotes (linear, whatever the cell's size).
				const quoteLine = line;
				i++;
				let closed = false;
				for (;;) {
					const q = src.indexOf('"', i);
					const chunk = src.slice(i, q < 0 ? src.length : q);
					line += countNewlines(chunk);
					field += chunk;
					if (q < 0) break;
					if (src[q + 1] === '"') {
						field += '"';
						i = q + 2;
						continue;
					}
					i = q + 1;
					closed = true;
					break;
				}
				if (!closed) {
					problems.push({
						line: quoteLine,
						reason: 'unterminated quoted field (a " opened here is never closed)'
					});
					return { records, problems };
				}
				fieldStart = false;
				// After a closing quote only a separator or end of record may follow.
				if (i < src.length && src[i] !== ',' && src[i] !== '\n' && src[i] !== '\r') {
					bad ??= `unexpected character ${JSON.stringify(src[i])} after a closing quote`;
					i = nextSpecial(src, i, /[,\r\n]/g);
				}
				continue;
			}
			if (c === ',') {
				fields.push(field);
				field = '';
				fieldStart = true;
				i++;
				continue;
			}
			if (c === '\r' || c === '\n') {
				i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
				line++;
				endOfRecord = true;
				continue;
			}
			if (c === '"')
				bad ??=
					'a double quote inside an unquoted field (quote the whole field and double the quote)';
			// the rest of an unquoted field, up to the next separator, line break or quote
			const end = nextSpecial(src, i + 1, /[,\r\n"]/g);
			field += src.slice(i, end);
			fieldStart = false;
			i = end;
		}
		fields.push(field);
		if (fields.length === 1 && fields[0] === '' && !bad) continue; // blank line
		if (bad) problems.push({ line: startLine, reason: bad });
		else records.push({ line: startLine, fields });
	}
	return { records, problems };
}

const CSV_HEADERS: [string, string][] = [
	['user', 'assistant'],
	['prompt', 'response'],
	['user', 'model']
];

/**
 * Parses a CSV of single exchanges. The header must be `user,assistant`, `prompt,response` or
 * `user,model` (case-insensitive; extra columns are an error so nothing is ignored unseen).
 */
export function parseCsv(text: string, options: TrainingFileParseOptions = {}): TrainingFileParse {
	const { records, problems } = parseCsvRecords(text);
	const unterminated = problems.find((p) => p.reason.startsWith('unterminated'));
	if (unterminated) throw new TrainingFileError('csv', problems);
	if (records.length === 0)
		throw new TrainingFileError('csv', [
			{ line: 1, reason: 'empty file: expected a header row user,assistant' }
		]);
	const [header, ...rows] = records;
	const names = header.fields.map((f) => f.trim().toLowerCase());
	const known = CSV_HEADERS.find(
		([u, a]) => names.length === 2 && names[0] === u && names[1] === a
	);
	if (!known)
		throw new TrainingFileError('csv', [
			{
				line: header.line,
				reason: `header is ${JSON.stringify(header.fields.join(','))}; expected user,assistant or prompt,response`
			}
		]);
	const examples: TrainingExample[] = [];
	for (const row of rows) {
		if (row.fields.length !== 2) {
			problems.push({
				line: row.line,
				reason: `expected 2 fields (${known.join(',')}), found ${row.fields.length}`
			});
			continue;
		}
		const [user, reply] = row.fields;
		if (user.trim() === '') problems.push({ line: row.line, reason: `empty ${known[0]} field` });
		else if (reply.trim() === '')
			problems.push({ line: row.line, reason: `empty ${known[1]} field` });
		else
			examples.push({
				messages: [
					{ role: 'user', content: user },
					{ role: 'model', content: reply }
				]
			});
	}
	problems.sort((a, b) => a.line - b.line);
	return finishParse('csv', examples, problems, [], options);
}

function csvField(value: string): string {
	return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface CsvExportOptions {
	/** Write a UTF-8 BOM first so spreadsheet programs read Japanese text correctly. Default true. */
	bom?: boolean;
	header?: 'user,assistant' | 'prompt,response';
}

/** Exports single exchanges as CSV (CRLF line ends). A multi-turn example is an error naming its index. */
export function exportCsv(examples: TrainingExample[], options: CsvExportOptions = {}): string {
	const rows: string[] = [options.header ?? 'user,assistant'];
	examples.forEach((e, index) => {
		if (e.messages.length !== 2 || e.messages[0].role !== 'user' || e.messages[1].role !== 'model')
			throw new Error(
				`example ${index} has ${e.messages.length} messages; CSV holds single exchanges (user, assistant) only — export it as JSONL`
			);
		rows.push(`${csvField(e.messages[0].content)},${csvField(e.messages[1].content)}`);
	});
	return `${options.bom === false ? '' : '\uFEFF'}${rows.join('\r\n')}\r\n`;
}
