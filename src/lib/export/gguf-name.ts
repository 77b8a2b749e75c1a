/**
 * The `general.*` naming keys that llama.cpp's converters derive from a model folder's name
 * (gguf-py `Metadata.get_model_id_components` + `id_to_title`, applied by `apply_metadata_heuristic`
 * to the folder convert_lora_to_gguf.py reads the adapter from). Ported rule for rule so that our
 * GGUF says what the converter's would for the same folder; see docs/GGUF-LORA.md.
 */

type Part = 'basename' | 'size_label' | 'finetune' | 'version' | 'type';

export interface ModelIdComponents {
	fullName: string | null;
	org: string | null;
	basename: string | null;
	finetune: string | null;
	version: string | null;
	sizeLabel: string | null;
}

const isDecimal = (c: string | undefined) => c !== undefined && /^\p{Nd}$/u.test(c);
const isAlpha = (c: string | undefined) => c !== undefined && /^\p{L}$/u.test(c);
const isCased = (c: string) => /[\p{Lu}\p{Ll}\p{Lt}]/u.test(c);

/** Python's float() on what the size rule feeds it; null where Python raises ValueError. */
function pyFloat(s: string): number | null {
	return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(s) ? Number(s) : null;
}

/** Python's str.islower(): some cased character, and none upper- or titlecase. */
function pyIsLower(w: string): boolean {
	return /\p{Ll}/u.test(w) && !/[\p{Lu}\p{Lt}]/u.test(w);
}

/** Python's str.title(): a letter after a cased letter is lowercased, any other uppercased. */
function pyTitle(w: string): string {
	let out = '';
	let prevCased = false;
	for (const c of w) {
		out += prevCased ? c.toLowerCase() : c.toUpperCase();
		prevCased = isCased(c);
	}
	return out;
}

/** gguf-py Metadata.id_to_title. */
export function idToTitle(s: string): string {
	return s
		.trim()
		.replace(/-/g, ' ')
		.split(/\s+/u)
		.filter(Boolean)
		.map((w) => (pyIsLower(w) && !/^(v\d+(?:\.\d+)*|\d.*)$/u.test(w) ? pyTitle(w) : w))
		.join(' ');
}

/** gguf-py Metadata.get_model_id_components (totalParams < 0 marks a LoRA adapter). */
export function modelIdComponents(modelId: string, totalParams: number): ModelIdComponents {
	const none = { basename: null, finetune: null, version: null, sizeLabel: null };
	if (modelId.includes(' ')) return { fullName: modelId, org: null, ...none };
	let org: string | null = null;
	let fullName = modelId;
	const slash = modelId.indexOf('/');
	if (slash >= 0) {
		org = modelId.slice(0, slash);
		fullName = modelId.slice(slash + 1);
	}
	if (org !== null && org.startsWith('.')) org = null;

	const parts = fullName.split('-').filter((p) => p.length > 0);
	const types: Set<Part>[] = parts.map(() => new Set());
	parts.forEach((original, i) => {
		let part = original;
		if (/^(v|iter)?\d+([.]\d+)*$/i.test(part)) types[i].add('version');
		else if (/^(i?q\d(_[\p{L}\p{N}_])*|b?fp?(16|32))$/iu.test(part)) {
			types[i].add('type');
			parts[i] = part.toUpperCase();
		} else if (
			i > 0 &&
			/^(([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl)$/i.test(part)
		) {
			part = part.replace(/_/g, '.');
			if (isDecimal(part.at(-1))) part = part.slice(0, -2) + '.' + part.at(-1) + part.at(-2);
			if (part.length > 1 && isDecimal(part.at(-2)) && 'kmbt'.includes(part.at(-1)!))
				part = part.slice(0, -1) + part.at(-1)!.toUpperCase();
			if (totalParams !== 0) {
				const base = pyFloat(part.slice(0, -1));
				if (base !== null) {
					const label = base * 1000 ** ' KMBT'.indexOf(part.at(-1)!);
					const abs = Math.abs(totalParams);
					if (
						(totalParams < 0 && label < Math.floor(abs / 8)) ||
						(totalParams > 0 && Math.abs(label - totalParams) > Math.floor((7 * totalParams) / 8))
					) {
						types[i].add('finetune');
						part = part.slice(0, -1) + part.at(-1)!.toLowerCase();
					}
				}
			}
			if (types[i].size === 0) types[i].add('size_label');
			parts[i] = part;
		} else if (i > 0 && /^(chat|instruct|vision|lora)$/i.test(part)) {
			types[i].add(totalParams < 0 && part.toLowerCase() === 'lora' ? 'type' : 'finetune');
		}
	});
	if (parts.some((p, i) => types[i].has('size_label') && [...p].some((c) => isDecimal(c))))
		parts.forEach((p, i) => {
			if (types[i].has('size_label') && [...p].every((c) => isAlpha(c)))
				types[i].delete('size_label');
		});
	let atStart = true;
	parts.forEach((p, i) => {
		const t = types[i];
		if (atStart && ((t.size === 0 && isAlpha([...p][0])) || t.has('version'))) t.add('basename');
		else {
			atStart = false;
			if (t.size === 0) t.add('finetune');
		}
	});
	for (let i = parts.length - 1; i >= 0; i--) {
		if (types[i].has('basename') && types[i].size > 1) types[i].delete('basename');
		else break;
	}
	const join = (pick: (t: Set<Part>) => boolean, dedupe = false) => {
		let sel = parts.filter((_, i) => pick(types[i]));
		if (dedupe) sel = [...new Set(sel)];
		return sel.join('-') || null;
	};
	let basename = join((t) => t.has('basename'));
	const sizeLabel = join((t) => t.has('size_label'), true);
	const finetune = join((t) => t.has('finetune'));
	const version = join((t) => t.has('version') && !t.has('basename'));
	if (sizeLabel === null && finetune === null && version === null) basename = null;
	return { fullName, org, basename, finetune, version, sizeLabel };
}

/**
 * The naming keys, in the order gguf-py's Metadata.set_gguf_meta_model writes them, that
 * convert_lora_to_gguf.py derives from the adapter folder's name when the folder holds no model
 * card front matter, config.json or generation_config.json (a PEFT export as the studio writes it).
 */
export function folderNameKeys(folderName: string, totalParams: number): [string, string][] {
	const c = modelIdComponents(folderName, totalParams);
	const out: [string, string][] = [['general.name', idToTitle(c.fullName ?? folderName)]];
	if (c.version) out.push(['general.version', c.version]);
	if (c.org) out.push(['general.organization', idToTitle(c.org)]);
	if (c.finetune) out.push(['general.finetune', c.finetune]);
	if (c.basename) out.push(['general.basename', c.basename]);
	if (c.sizeLabel) out.push(['general.size_label', c.sizeLabel]);
	return out;
}
