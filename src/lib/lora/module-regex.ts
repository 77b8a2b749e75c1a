/**
 * Python `re` patterns of PEFT configs (`target_modules`, `exclude_modules`, `rank_pattern` and
 * `alpha_pattern` keys), matched in linear time. A config is untrusted input: with JavaScript's
 * backtracking RegExp a pattern such as `(.*)*X` takes exponential time and freezes the page. Here
 * a pattern is parsed into the subset of Python's syntax a module pattern needs and run as a
 * Thompson NFA (every thread advanced in lock step), so a match costs at most
 * O(name length × program size) whatever the pattern.
 *
 * Supported: literals and escapes, `.`, classes `[...]` (ranges, negation, `\d \w \s`), groups
 * `(...)`, `(?:...)`, `(?P<name>...)`, `|`, `* + ? {m} {m,} {,n} {m,n}` (greedy or lazy: the same
 * set of matches), `^ $ \A \Z \b \B`, and the leading flags `(?i)`, `(?s)`, `(?a)`, `(?u)`.
 * Refused with a PythonRegexError: backreferences, lookarounds, atomic groups, possessive
 * quantifiers, conditionals and other flags (they cannot be matched without backtracking, and no
 * PEFT config needs them).
 */

export class PythonRegexError extends Error {
	constructor(
		readonly pattern: string,
		readonly position: number,
		reason: string
	) {
		super(`${reason} at position ${position}`);
		this.name = 'PythonRegexError';
	}
}

/** Longest pattern accepted (an adapter config's longest regex — all module names — is ~10 kB). */
export const MAX_PATTERN_CHARS = 65_536;
/** Largest compiled program (counted repeats are expanded: `(a{1000}){1000}` is refused here). */
export const MAX_PROGRAM_SIZE = 200_000;

type CharTest = (ch: string) => boolean;

type Node =
	| { t: 'char'; test: CharTest }
	| { t: 'cat'; items: Node[] }
	| { t: 'alt'; options: Node[] }
	| { t: 'rep'; node: Node; min: number; max: number }
	| { t: 'assert'; kind: Assertion };

type Assertion = 'start' | 'end' | 'endOrFinalNewline' | 'wordBoundary' | 'notWordBoundary';

const isDigit: CharTest = (c) => /\p{Nd}/u.test(c);
const isWord: CharTest = (c) => /[\p{L}\p{N}\p{Mn}\p{Pc}]/u.test(c);
const isSpace: CharTest = (c) => /\s/.test(c);
const not =
	(f: CharTest): CharTest =>
	(c) =>
		!f(c);

const SIMPLE_ESCAPES: Record<string, string> = {
	n: '\n',
	t: '\t',
	r: '\r',
	f: '\f',
	v: '\v',
	a: '\x07'
};

class Parser {
	private i = 0;
	ignoreCase = false;
	dotAll = false;
	constructor(private readonly src: string) {}

	fail(reason: string, at = this.i): never {
		throw new PythonRegexError(this.src, at, reason);
	}

	parse(): Node {
		this.leadingFlags();
		const node = this.alternation();
		if (this.i < this.src.length) this.fail('unbalanced parenthesis');
		return node;
	}

	/** `(?i)` etc. at the very start (Python 3.11 refuses global flags anywhere else). */
	private leadingFlags(): void {
		for (;;) {
			const m = /^\(\?([a-zA-Z]+)\)/.exec(this.src.slice(this.i));
			if (!m) return;
			for (const f of m[1]) {
				if (f === 'i') this.ignoreCase = true;
				else if (f === 's') this.dotAll = true;
				else if (f !== 'a' && f !== 'u') this.fail(`the flag (?${f}) is not supported`);
			}
			this.i += m[0].length;
		}
	}

	private peek(): string | undefined {
		return this.src[this.i];
	}

	private alternation(): Node {
		const options = [this.concatenation()];
		while (this.peek() === '|') {
			this.i++;
			options.push(this.concatenation());
		}
		return options.length === 1 ? options[0] : { t: 'alt', options };
	}

	private concatenation(): Node {
		const items: Node[] = [];
		while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
			const start = this.i;
			const atom = this.atom();
			items.push(this.quantified(atom, start));
		}
		return items.length === 1 ? items[0] : { t: 'cat', items };
	}

	private quantified(atom: Node, start: number): Node {
		const q = this.quantifier();
		if (!q) return atom;
		if (atom.t === 'assert') this.fail('nothing to repeat', start);
		if (this.peek() === '?')
			this.i++; // lazy: same set of matches
		else if (this.peek() === '+') this.fail('possessive quantifiers are not supported');
		if (this.quantifier(true)) this.fail('multiple repeat');
		return { t: 'rep', node: atom, min: q.min, max: q.max };
	}

	/** `*`, `+`, `?` or a valid `{m,n}` at the cursor (consumed unless `peekOnly`); else null. */
	private quantifier(peekOnly = false): { min: number; max: number } | null {
		const c = this.peek();
		const simple =
			c === '*'
				? { min: 0, max: Infinity }
				: c === '+'
					? { min: 1, max: Infinity }
					: c === '?'
						? { min: 0, max: 1 }
						: null;
		if (simple) {
			if (!peekOnly) this.i++;
			return simple;
		}
		if (c !== '{') return null;
		// Python treats a `{` that does not form {m}, {m,}, {,n} or {m,n} as a literal.
		const m = /^\{(\d*)(,?)(\d*)\}/.exec(this.src.slice(this.i));
		if (!m || (m[1] === '' && m[2] === '' && m[3] === '')) return null;
		if (m[2] === '' && m[3] !== '') return null;
		const min = m[1] === '' ? 0 : Number(m[1]);
		const max = m[2] === '' ? min : m[3] === '' ? Infinity : Number(m[3]);
		if (max < min) this.fail('min repeat greater than max repeat');
		if (!peekOnly) this.i += m[0].length;
		return { min, max };
	}

	private atom(): Node {
		const c = this.src[this.i];
		if (this.quantifier(true)) this.fail('nothing to repeat');
		this.i++;
		if (c === '(') return this.group();
		if (c === '[') return this.charClass();
		if (c === '.') return this.char(this.dotAll ? () => true : (ch) => ch !== '\n');
		if (c === '^') return { t: 'assert', kind: 'start' };
		if (c === '$') return { t: 'assert', kind: 'endOrFinalNewline' };
		if (c === '\\') return this.escapeNode();
		return this.literal(c);
	}

	private char(test: CharTest): Node {
		return { t: 'char', test };
	}

	private literal(c: string): Node {
		if (!this.ignoreCase) return this.char((ch) => ch === c);
		const lower = c.toLowerCase();
		return this.char((ch) => ch.toLowerCase() === lower);
	}

	private group(): Node {
		const open = this.i - 1;
		if (this.peek() === '?') {
			const rest = this.src.slice(this.i + 1);
			if (rest.startsWith(':')) this.i += 2;
			else if (rest.startsWith('P<')) {
				const m = /^P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
				if (!m) this.fail('bad group name');
				this.i += 1 + m[0].length;
			} else if (rest.startsWith('#')) {
				const close = this.src.indexOf(')', this.i);
				if (close < 0) this.fail('missing ), unterminated comment', open);
				this.i = close + 1;
				return { t: 'cat', items: [] };
			} else if (/^(=|!|<=|<!)/.test(rest)) this.fail('lookaround assertions are not supported');
			else if (rest.startsWith('P=')) this.fail('backreferences are not supported');
			else if (rest.startsWith('>')) this.fail('atomic groups are not supported');
			else if (rest.startsWith('(')) this.fail('conditional groups are not supported');
			else this.fail('inline flags other than leading (?i) (?s) (?a) (?u) are not supported');
		}
		const inner = this.alternation();
		if (this.peek() !== ')') this.fail('missing ), unterminated subpattern', open);
		this.i++;
		return inner;
	}

	/**
	 * The escape after a `\\`: a class (`\\d`), an assertion (`\\b` outside a class) or one
	 * character. Python refuses unknown letter escapes and we refuse backreferences.
	 */
	private escape(inClass: boolean): { cls: CharTest } | { assert: Assertion } | { ch: string } {
		const at = this.i - 1;
		const c = this.src[this.i++];
		if (c === undefined) this.fail('bad escape (end of pattern)', at);
		const classes: Record<string, CharTest> = {
			d: isDigit,
			D: not(isDigit),
			w: isWord,
			W: not(isWord),
			s: isSpace,
			S: not(isSpace)
		};
		if (classes[c]) return { cls: classes[c] };
		if (!inClass) {
			const assertions: Record<string, Assertion> = {
				A: 'start',
				Z: 'end',
				b: 'wordBoundary',
				B: 'notWordBoundary'
			};
			if (assertions[c]) return { assert: assertions[c] };
			if (/[1-9]/.test(c)) this.fail('backreferences are not supported', at);
		} else if (c === 'b') return { ch: '\b' };
		if (SIMPLE_ESCAPES[c]) return { ch: SIMPLE_ESCAPES[c] };
		if (c === '0') {
			const digits = /^[0-7]{0,2}/.exec(this.src.slice(this.i))![0];
			this.i += digits.length;
			return { ch: String.fromCharCode(parseInt('0' + digits, 8)) };
		}
		if (c === 'x' || c === 'u' || c === 'U') {
			const len = c === 'x' ? 2 : c === 'u' ? 4 : 8;
			const hex = this.src.slice(this.i, this.i + len);
			if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail(`incomplete escape \\${c}`, at);
			const code = parseInt(hex, 16);
			if (code > 0x10ffff) this.fail(`bad escape \\${c}${hex}`, at);
			this.i += len;
			return { ch: String.fromCodePoint(code) };
		}
		if (/[A-Za-z0-9]/.test(c)) this.fail(`bad escape \\${c}`, at);
		return { ch: c };
	}

	private escapeNode(): Node {
		const e = this.escape(false);
		if ('cls' in e) return this.char(e.cls);
		if ('assert' in e) return { t: 'assert', kind: e.assert };
		return this.literal(e.ch);
	}

	private literalTest(c: string): CharTest {
		if (!this.ignoreCase) return (ch) => ch === c;
		const lower = c.toLowerCase();
		return (ch) => ch.toLowerCase() === lower;
	}

	private charClass(): Node {
		const open = this.i - 1;
		let negate = false;
		if (this.peek() === '^') {
			negate = true;
			this.i++;
		}
		const tests: CharTest[] = [];
		let first = true;
		for (;;) {
			const c = this.src[this.i];
			if (c === undefined) this.fail('unterminated character set', open);
			if (c === ']' && !first) {
				this.i++;
				break;
			}
			first = false;
			const lo = this.classAtom();
			if (
				this.peek() === '-' &&
				this.src[this.i + 1] !== undefined &&
				this.src[this.i + 1] !== ']'
			) {
				const dash = this.i;
				this.i++;
				const hi = this.classAtom();
				if (typeof lo !== 'string' || typeof hi !== 'string')
					this.fail('bad character range', dash);
				const [a, b] = [lo.codePointAt(0)!, hi.codePointAt(0)!];
				if (b < a) this.fail(`bad character range ${lo}-${hi}`, dash);
				tests.push(this.rangeTest(a, b));
			} else tests.push(typeof lo === 'string' ? this.literalTest(lo) : lo);
		}
		const any: CharTest = (ch) => tests.some((t) => t(ch));
		return this.char(negate ? not(any) : any);
	}

	/** One class member: a single character (string) or a class escape such as `\\d` (CharTest). */
	private classAtom(): string | CharTest {
		const c = this.src[this.i++];
		if (c !== '\\') return c;
		const e = this.escape(true);
		return 'cls' in e ? e.cls : (e as { ch: string }).ch;
	}

	private rangeTest(a: number, b: number): CharTest {
		const inRange = (ch: string) => {
			const p = ch.codePointAt(0)!;
			return p >= a && p <= b;
		};
		if (!this.ignoreCase) return inRange;
		return (ch) => inRange(ch) || inRange(ch.toLowerCase()) || inRange(ch.toUpperCase());
	}
}

// ---------------------------------------------------------------- Thompson NFA

type Inst =
	| { op: 'char'; test: CharTest }
	| { op: 'split'; x: number; y: number }
	| { op: 'jmp'; to: number }
	| { op: 'assert'; kind: Assertion }
	| { op: 'match' };

class Compiler {
	readonly prog: Inst[] = [];
	constructor(private readonly pattern: string) {}

	private emit(inst: Inst): number {
		if (this.prog.length >= MAX_PROGRAM_SIZE)
			throw new PythonRegexError(
				this.pattern,
				0,
				`pattern too large once its repeats are expanded (over ${MAX_PROGRAM_SIZE} steps)`
			);
		this.prog.push(inst);
		return this.prog.length - 1;
	}

	compile(node: Node): void {
		switch (node.t) {
			case 'char':
				this.emit({ op: 'char', test: node.test });
				return;
			case 'assert':
				this.emit({ op: 'assert', kind: node.kind });
				return;
			case 'cat':
				for (const n of node.items) this.compile(n);
				return;
			case 'alt': {
				const jumps: number[] = [];
				node.options.forEach((opt, k) => {
					if (k < node.options.length - 1) {
						const split = this.emit({ op: 'split', x: 0, y: 0 });
						(this.prog[split] as { x: number }).x = this.prog.length;
						this.compile(opt);
						jumps.push(this.emit({ op: 'jmp', to: 0 }));
						(this.prog[split] as { y: number }).y = this.prog.length;
					} else this.compile(opt);
				});
				for (const j of jumps) (this.prog[j] as { to: number }).to = this.prog.length;
				return;
			}
			case 'rep': {
				for (let k = 0; k < node.min; k++) this.compile(node.node);
				if (node.max === Infinity) {
					// L: split body, out; body; jmp L
					const split = this.emit({ op: 'split', x: 0, y: 0 });
					(this.prog[split] as { x: number }).x = this.prog.length;
					this.compile(node.node);
					this.emit({ op: 'jmp', to: split });
					(this.prog[split] as { y: number }).y = this.prog.length;
					return;
				}
				const splits: number[] = [];
				for (let k = node.min; k < node.max; k++) {
					const split = this.emit({ op: 'split', x: 0, y: 0 });
					(this.prog[split] as { x: number }).x = this.prog.length;
					splits.push(split);
					this.compile(node.node);
				}
				for (const s of splits) (this.prog[s] as { y: number }).y = this.prog.length;
				return;
			}
		}
	}
}

function assertionHolds(kind: Assertion, s: string, pos: number): boolean {
	switch (kind) {
		case 'start':
			return pos === 0;
		case 'end':
			return pos === s.length;
		case 'endOrFinalNewline':
			return pos === s.length || (pos === s.length - 1 && s[pos] === '\n');
		case 'wordBoundary':
		case 'notWordBoundary': {
			const before = pos > 0 && isWord(s[pos - 1]);
			const after = pos < s.length && isWord(s[pos]);
			return (before !== after) === (kind === 'wordBoundary');
		}
	}
}

/** A compiled pattern. `fullmatch`, `match` and `search` mean what they mean in Python's `re`. */
export class ModuleRegex {
	private constructor(
		readonly source: string,
		private readonly prog: Inst[]
	) {}

	static compile(pattern: string): ModuleRegex {
		return ModuleRegex.fromNode(pattern, parsePattern(pattern));
	}

	/** PEFT's pattern-key test `re.match(rf"(.*\.)?({key})$", name)` as one program. */
	static patternKey(key: string): ModuleRegex {
		const inner = parsePattern(key);
		const anyChar: Node = { t: 'char', test: (c) => c !== '\n' };
		const prefix: Node = {
			t: 'rep',
			node: { t: 'cat', items: [{ t: 'rep', node: anyChar, min: 0, max: Infinity }, lit('.')] },
			min: 0,
			max: 1
		};
		return ModuleRegex.fromNode(key, {
			t: 'cat',
			items: [prefix, inner, { t: 'assert', kind: 'endOrFinalNewline' }]
		});
	}

	private static fromNode(pattern: string, node: Node): ModuleRegex {
		const c = new Compiler(pattern);
		c.compile(node);
		c.prog.push({ op: 'match' });
		return new ModuleRegex(pattern, c.prog);
	}

	fullmatch(s: string): boolean {
		return this.run(s, 'full');
	}
	match(s: string): boolean {
		return this.run(s, 'prefix');
	}
	search(s: string): boolean {
		return this.run(s, 'search');
	}

	private run(s: string, mode: 'full' | 'prefix' | 'search'): boolean {
		const n = this.prog.length;
		const mark = new Int32Array(n).fill(-1);
		let current: number[] = [];
		let next: number[] = [];
		const stack: number[] = [];
		// Follow jumps, splits and assertions from pc at position pos; char and match states land in `list`.
		const add = (list: number[], pc0: number, pos: number, gen: number): boolean => {
			stack.push(pc0);
			let matched = false;
			while (stack.length) {
				const pc = stack.pop()!;
				if (mark[pc] === gen) continue;
				mark[pc] = gen;
				const inst = this.prog[pc];
				if (inst.op === 'jmp') stack.push(inst.to);
				else if (inst.op === 'split') stack.push(inst.y, inst.x);
				else if (inst.op === 'assert') {
					if (assertionHolds(inst.kind, s, pos)) stack.push(pc + 1);
				} else {
					if (inst.op === 'match') matched = true;
					list.push(pc);
				}
			}
			return matched;
		};
		const chars = Array.from(s);
		// positions in UTF-16 units for assertions, advanced per code point
		let pos = 0;
		let gen = 0;
		let matched = add(current, 0, 0, gen);
		if (matched && mode !== 'full') return true;
		for (let k = 0; k < chars.length; k++) {
			const ch = chars[k];
			const nextPos = pos + ch.length;
			gen++;
			next.length = 0;
			matched = false;
			for (const pc of current) {
				const inst = this.prog[pc];
				if (inst.op === 'char' && inst.test(ch))
					matched = add(next, pc + 1, nextPos, gen) || matched;
			}
			if (mode === 'search') matched = add(next, 0, nextPos, gen) || matched;
			if (matched && mode !== 'full') return true;
			[current, next] = [next, current];
			pos = nextPos;
			if (current.length === 0 && mode !== 'search') return false;
		}
		return current.some((pc) => this.prog[pc].op === 'match');
	}
}

function lit(c: string): Node {
	return { t: 'char', test: (ch) => ch === c };
}

function parsePattern(pattern: string): Node {
	if (pattern.length > MAX_PATTERN_CHARS)
		throw new PythonRegexError(
			pattern,
			MAX_PATTERN_CHARS,
			`pattern of ${pattern.length} characters is longer than the ${MAX_PATTERN_CHARS} allowed`
		);
	return new Parser(pattern).parse();
}

const cache = new Map<string, ModuleRegex>();

/** Compile (memoised: a config's few patterns are tested against hundreds of module names). */
function cached(key: string, make: () => ModuleRegex): ModuleRegex {
	let r = cache.get(key);
	if (!r) {
		r = make();
		if (cache.size > 256) cache.clear();
		cache.set(key, r);
	}
	return r;
}

/** Python's `re.fullmatch(pattern, s) is not None`. */
export function pyFullmatch(pattern: string, s: string): boolean {
	return cached('F' + pattern, () => ModuleRegex.compile(pattern)).fullmatch(s);
}

/** PEFT's pattern key test: `re.match(rf"(.*\.)?({key})$", name)`. */
export function pyPatternKeyMatches(key: string, name: string): boolean {
	return cached('K' + key, () => ModuleRegex.patternKey(key)).match(name);
}

/** Throws a PythonRegexError if `pattern` is not one this module can match. */
export function checkModulePattern(pattern: string): void {
	cached('F' + pattern, () => ModuleRegex.compile(pattern));
}
