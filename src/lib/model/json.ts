/**
 * JSON of files the user or a link gave us (adapter_config.json, model configs, manifests, the
 * safetensors header, character files): a UTF-8 BOM is tolerated (editors write one; Python does
 * not), and a key that appears twice in one object is refused — JSON.parse silently keeps the last,
 * so `{"x.lora_A.weight": …, "x.lora_A.weight": …}` would otherwise mean whichever a reader picks.
 */

export class JsonTextError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'JsonTextError';
	}
}

export function stripBom(text: string): string {
	return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parse JSON text; throws a JsonTextError for invalid JSON or a repeated key (naming the key). */
export function parseJsonText(text: string): unknown {
	const body = stripBom(text);
	let value: unknown;
	try {
		value = JSON.parse(body);
	} catch (e) {
		throw new JsonTextError(`not valid JSON (${(e as Error).message})`);
	}
	const repeated = repeatedKey(body);
	if (repeated !== null)
		throw new JsonTextError(
			`the key ${JSON.stringify(repeated.key)} appears twice in one object (at character ${repeated.at}); JSON readers disagree on which one counts`
		);
	return value;
}

/**
 * The first key that appears twice in the same object of valid JSON text, or null. One linear
 * scan: a stack with the keys seen so far in each open object; strings are skipped as a whole.
 */
export function repeatedKey(text: string): { key: string; at: number } | null {
	const stack: (Set<string> | null)[] = []; // null: an array
	let expectKey = false;
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === '"') {
			const start = i;
			for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
			const keys = stack[stack.length - 1];
			if (expectKey && keys) {
				const raw = text.slice(start, i + 1);
				const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
				if (keys.has(key)) return { key, at: start };
				keys.add(key);
				expectKey = false;
			}
		} else if (c === '{') {
			stack.push(new Set());
			expectKey = true;
		} else if (c === '[') {
			stack.push(null);
			expectKey = false;
		} else if (c === '}' || c === ']') {
			stack.pop();
			expectKey = false;
		} else if (c === ',') expectKey = stack[stack.length - 1] !== null && stack.length > 0;
	}
	return null;
}
