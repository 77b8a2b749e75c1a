/**
 * Rubrics: judge prompts as editable, versioned templates. A rubric's `key` is stable; every edit
 * saves a new record with `version + 1` and a new id, so a judgment (which records rubricId, key
 * and version) always points at the exact text that produced it. Old versions are never changed.
 *
 * Template placeholders: {{character}} (name), {{profile}}, {{styleNotes}}, {{dialogue}},
 * {{criterion}} (the criterion's label), {{anchors}} (one "score: meaning" line per anchor),
 * {{min}}, {{max}}. Criterion labels may use {{character}} too. An unknown placeholder is an error,
 * so a typo in an edited template is caught before any judging runs.
 */
import type { StudioDatabase } from '../data/db';
import { newId } from '../data/db';
import type { Character, Dialogue, Language, Rubric, RubricCriterion } from '../data/types';
import builtinRubricsFile from './builtin/rubrics.json';

export const RUBRIC_PLACEHOLDERS = [
	'character',
	'profile',
	'styleNotes',
	'dialogue',
	'criterion',
	'anchors',
	'min',
	'max'
] as const;

export interface BuiltinRubric {
	key: string;
	name: string;
	language: Language;
	scale: { min: number; max: number };
	criteria: RubricCriterion[];
	template: string;
}

export const BUILTIN_RUBRICS: BuiltinRubric[] = (builtinRubricsFile as { rubrics: BuiltinRubric[] })
	.rubrics;

/** The id a built-in rubric's version 1 gets in the database (stable, so seeding is idempotent). */
export function builtinRubricId(key: string): string {
	return `curated:rubric:${key}:v1`;
}

/** Speaker labels used when a dialogue is written into a judge prompt. */
export function renderDialogueForJudge(
	dialogue: Pick<Dialogue, 'turns'>,
	characterName: string,
	language: Language
): string {
	const userLabel = language === 'ja' ? 'ユーザー' : 'User';
	const separator = language === 'ja' ? '：' : ': ';
	return dialogue.turns
		.map((t) => `${t.role === 'model' ? characterName : userLabel}${separator}${t.content.trim()}`)
		.join('\n');
}

function fillPlaceholders(text: string, values: Record<string, string>, where: string): string {
	return text.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (_, name: string) => {
		if (!(name in values))
			throw new Error(
				`${where}: unknown placeholder {{${name}}} (known: ${RUBRIC_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`
			);
		return values[name];
	});
}

/** Checks a template and its criteria; returns the problems (empty when valid). */
export function validateRubric(rubric: Pick<Rubric, 'template' | 'criteria' | 'scale'>): string[] {
	const problems: string[] = [];
	const known = new Set<string>(RUBRIC_PLACEHOLDERS);
	for (const m of rubric.template.matchAll(/\{\{\s*([A-Za-z]+)\s*\}\}/g))
		if (!known.has(m[1])) problems.push(`template: unknown placeholder {{${m[1]}}}`);
	if (!rubric.template.includes('{{dialogue}}')) problems.push('template: missing {{dialogue}}');
	const { min, max } = rubric.scale;
	if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max > 9 || min >= max)
		problems.push(`scale: expected single digits with min < max, got ${min}–${max}`);
	if (rubric.criteria.length === 0) problems.push('criteria: at least one criterion is needed');
	rubric.criteria.forEach((c, i) => {
		if (!c.key?.trim()) problems.push(`criteria[${i}].key: empty`);
		if (!c.label?.trim()) problems.push(`criteria[${i}].label: empty`);
	});
	return problems;
}

export interface RubricRenderInput {
	character: Pick<Character, 'name' | 'profile' | 'styleNotes'>;
	dialogue: Pick<Dialogue, 'turns'>;
	/** Criterion key (or the criterion itself); defaults to the rubric's only criterion. */
	criterion?: string | RubricCriterion;
}

/** The judge prompt for one criterion of a rubric. */
export function renderRubric(
	rubric: Rubric | (BuiltinRubric & { id?: string; version?: number }),
	input: RubricRenderInput
): string {
	let criterion: RubricCriterion | undefined;
	if (typeof input.criterion === 'object') criterion = input.criterion;
	else if (input.criterion !== undefined) {
		criterion = rubric.criteria.find((c) => c.key === input.criterion);
		if (!criterion)
			throw new Error(
				`rubric ${rubric.key}: no criterion "${input.criterion}" (has ${rubric.criteria.map((c) => c.key).join(', ')})`
			);
	} else if (rubric.criteria.length === 1) criterion = rubric.criteria[0];
	else
		throw new Error(
			`rubric ${rubric.key} has ${rubric.criteria.length} criteria; say which one to render`
		);
	const where = `rubric ${rubric.key} v${'version' in rubric ? rubric.version : 1}`;
	const base = {
		character: input.character.name,
		min: String(rubric.scale.min),
		max: String(rubric.scale.max)
	};
	const anchors = Object.entries(criterion.anchors)
		.map(([score, meaning]) => [Number(score), meaning] as const)
		.sort((a, b) => a[0] - b[0])
		.map(
			([score, meaning]) =>
				`${score}: ${fillPlaceholders(meaning, { ...base }, `${where} anchor ${score}`)}`
		)
		.join('\n');
	const values: Record<string, string> = {
		...base,
		profile: input.character.profile.trim(),
		styleNotes: input.character.styleNotes.trim(),
		dialogue: renderDialogueForJudge(input.dialogue, input.character.name, rubric.language),
		criterion: fillPlaceholders(criterion.label, base, `${where} criterion ${criterion.key}`),
		anchors
	};
	return fillPlaceholders(rubric.template, values, `${where} template`);
}

/** The latest version of a rubric key, or undefined. */
export async function latestRubric(db: StudioDatabase, key: string): Promise<Rubric | undefined> {
	const versions = await db.rubrics.where('key').equals(key).sortBy('version');
	return versions.at(-1);
}

/** All rubric keys with only their latest version. */
export async function listLatestRubrics(db: StudioDatabase): Promise<Rubric[]> {
	const all = await db.rubrics.toArray();
	const latest = new Map<string, Rubric>();
	for (const r of all) if ((latest.get(r.key)?.version ?? -1) < r.version) latest.set(r.key, r);
	return [...latest.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Saves an edit of a rubric as a new version (the previous version stays as it was). The edit is
 * validated first; the error lists every problem.
 */
export async function saveRubricVersion(
	db: StudioDatabase,
	key: string,
	changes: Partial<Pick<Rubric, 'name' | 'template' | 'criteria' | 'scale'>>
): Promise<Rubric> {
	const previous = await latestRubric(db, key);
	if (!previous) throw new Error(`no rubric with key "${key}"`);
	const next: Rubric = {
		...previous,
		...changes,
		id: newId(),
		version: previous.version + 1,
		origin: 'user',
		createdAt: Date.now()
	};
	const problems = validateRubric(next);
	if (problems.length)
		throw new Error(`rubric ${key} v${next.version} is invalid: ${problems.join('; ')}`);
	await db.rubrics.add(next);
	return next;
}

/** Creates a new rubric (version 1) under a new key. */
export async function createRubric(
	db: StudioDatabase,
	input: Omit<Rubric, 'id' | 'version' | 'origin' | 'createdAt'>
): Promise<Rubric> {
	if (await latestRubric(db, input.key))
		throw new Error(`a rubric with key "${input.key}" already exists; save a new version instead`);
	const rubric: Rubric = {
		...input,
		id: newId(),
		version: 1,
		origin: 'user',
		createdAt: Date.now()
	};
	const problems = validateRubric(rubric);
	if (problems.length) throw new Error(`rubric ${input.key} is invalid: ${problems.join('; ')}`);
	await db.rubrics.add(rubric);
	return rubric;
}

/** A criterion's anchors as editable text, one "score: meaning" line per score. */
export function anchorsText(criterion: Pick<RubricCriterion, 'anchors'>): string {
	return Object.entries(criterion.anchors)
		.sort((a, b) => Number(a[0]) - Number(b[0]))
		.map(([score, meaning]) => `${score}: ${meaning}`)
		.join('\n');
}

/** Reads "score: meaning" lines (full-width ： too); other lines and empty meanings are skipped. */
export function parseAnchors(text: string): Record<number, string> {
	const anchors: Record<number, string> = {};
	for (const line of text.split('\n')) {
		const m = line.match(/^\s*(\d+)\s*[:：]\s*(.*)$/);
		if (m && m[2].trim()) anchors[Number(m[1])] = m[2].trim();
	}
	return anchors;
}

/** A rubric being edited in a form: 'edit' saves a new version, 'copy' a new rubric (new key). */
export interface RubricDraft {
	mode: 'edit' | 'copy';
	key: string;
	name: string;
	template: string;
	min: number;
	max: number;
	criteria: { key: string; label: string; anchors: string }[];
}

export function rubricDraft(rubric: Rubric, mode: RubricDraft['mode']): RubricDraft {
	const copy = mode === 'copy';
	return {
		mode,
		key: copy ? `${rubric.key}-copy` : rubric.key,
		name: copy ? `${rubric.name} (copy)` : rubric.name,
		template: rubric.template,
		min: rubric.scale.min,
		max: rubric.scale.max,
		criteria: rubric.criteria.map((c) => ({ key: c.key, label: c.label, anchors: anchorsText(c) }))
	};
}

/**
 * Saves a draft of `rubric` (a new version, or a new rubric for a copy). Returns the saved rubric,
 * or the problems that kept it from being saved.
 */
export async function saveRubricDraft(
	db: StudioDatabase,
	rubric: Rubric,
	draft: RubricDraft
): Promise<{ saved: Rubric } | { problems: string[] }> {
	const changes = {
		name: draft.name.trim(),
		template: draft.template,
		scale: { min: Number(draft.min), max: Number(draft.max) },
		criteria: draft.criteria.map((c) => ({
			key: c.key.trim(),
			label: c.label.trim(),
			anchors: parseAnchors(c.anchors)
		}))
	};
	const problems = validateRubric(changes);
	if (!changes.name) problems.unshift('name: empty');
	if (problems.length) return { problems };
	try {
		const saved =
			draft.mode === 'edit'
				? await saveRubricVersion(db, rubric.key, changes)
				: await createRubric(db, { ...changes, key: draft.key.trim(), language: rubric.language });
		return { saved };
	} catch (error) {
		return { problems: [(error as Error).message] };
	}
}

/** The rubric a page opens with: a built-in one in the UI language, else the first. */
export function defaultRubric(latest: Rubric[], language: Language): Rubric | undefined {
	return (
		latest.find((r) => r.language === language && r.origin === 'curated') ??
		latest.find((r) => r.language === language) ??
		latest[0]
	);
}
