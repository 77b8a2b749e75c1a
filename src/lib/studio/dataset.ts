/**
 * Datasets: from accepted dialogues and/or curated example sets to train/eval examples, plus the
 * statistics table the seeds kept for every dataset.
 *
 * Windowing (`windowDialogue`):
 * - 'exchange': every user turn followed by a model turn gives one example [user, model].
 * - 'utterances' of size k (k even, ≥ 2): every window of k consecutive turns that starts on a user
 *   turn (stride 2, so windows overlap, as the seeds' "11 examples from 12 exchanges" did).
 * - A dialogue that opens with the character's question (a model turn first — the generated
 *   dialogues all do) is aligned on its first user turn: the opening question is in no window,
 *   because Gemma's turns must start with user. Its content still shapes the user replies.
 * - A window containing a turn the reviewer rejected (`turn.rejected`), or an empty turn, is left out.
 *
 * Prompt variants: 'none' leaves the example alone; 'short' / 'long' put the character's
 * shortPrefix / longPrefix, then a newline, before the first user utterance of each example.
 *
 * Shuffle and split: the examples are shuffled with `seededShuffle(examples, recipe.shuffleSeed)`
 * (mulberry32 + Fisher–Yates, see random.ts); the first min(evalCap, round(n × evalFraction))
 * shuffled examples become eval, the rest train.
 */
import type { StudioDatabase } from '../data/db';
import { createDataset } from './dataset-store';
import type {
	ChatMessage,
	Character,
	Dataset,
	DatasetRecipe,
	DatasetStatistics,
	Dialogue,
	DialogueTurn,
	Language,
	PromptVariant,
	TrainingExample
} from '../data/types';
import { seededShuffle } from './random';

export type WindowSpec = DatasetRecipe['window'];

export interface Tokenizer {
	encode(text: string): number[];
}

export const DEFAULT_EVAL_FRACTION = 0.2;
export const DEFAULT_EVAL_CAP = 50;

export function windowDialogue(turns: DialogueTurn[], window: WindowSpec): TrainingExample[] {
	const size = window.kind === 'exchange' ? 2 : window.size;
	if (!Number.isInteger(size) || size < 2 || size % 2 !== 0)
		throw new Error(`window size must be an even integer ≥ 2 (user + model pairs), got ${size}`);
	const examples: TrainingExample[] = [];
	for (let start = 0; start + size <= turns.length; start++) {
		if (turns[start].role !== 'user') continue;
		const slice = turns.slice(start, start + size);
		const alternates = slice.every((t, i) => t.role === (i % 2 === 0 ? 'user' : 'model'));
		if (!alternates) continue;
		if (slice.some((t) => t.rejected || t.content.trim() === '')) continue;
		examples.push({ messages: slice.map((t) => ({ role: t.role, content: t.content })) });
	}
	return examples;
}

export function defaultShortPrefix(name: string, language: Language): string {
	return language === 'ja' ? `${name}さん。` : `${name}.`;
}

export function defaultLongPrefix(name: string, language: Language): string {
	return language === 'ja' ? `あなたは${name}です。` : `You are ${name}.`;
}

/** The prefix text of a variant for a character ('' for 'none'). */
export function variantPrefix(
	character: Pick<Character, 'name' | 'language' | 'shortPrefix' | 'longPrefix'>,
	variant: PromptVariant
): string {
	if (variant === 'none') return '';
	if (variant === 'short')
		return character.shortPrefix?.trim() || defaultShortPrefix(character.name, character.language);
	return character.longPrefix?.trim() || defaultLongPrefix(character.name, character.language);
}

/** Places the variant's prefix and a newline before the first user utterance. */
export function applyPromptVariant(
	example: TrainingExample,
	variant: PromptVariant,
	character: Pick<Character, 'name' | 'language' | 'shortPrefix' | 'longPrefix'>
): TrainingExample {
	const prefix = variantPrefix(character, variant);
	if (!prefix) return { ...example, messages: example.messages.map((m) => ({ ...m })) };
	const messages = example.messages.map((m, i) =>
		i === 0 ? { role: m.role, content: `${prefix}\n${m.content}` } : { ...m }
	);
	return { ...example, messages };
}

export function splitTrainEval(
	examples: TrainingExample[],
	options: { seed: number; evalFraction?: number; evalCap?: number }
): { train: TrainingExample[]; eval: TrainingExample[] } {
	const fraction = options.evalFraction ?? DEFAULT_EVAL_FRACTION;
	const cap = options.evalCap ?? DEFAULT_EVAL_CAP;
	if (!(fraction >= 0 && fraction < 1))
		throw new Error(`evalFraction must be in [0, 1), got ${fraction}`);
	if (!(cap >= 0)) throw new Error(`evalCap must be ≥ 0, got ${cap}`);
	const shuffled = seededShuffle(examples, options.seed);
	const evalCount = Math.min(Math.floor(cap), Math.round(shuffled.length * fraction));
	return { eval: shuffled.slice(0, evalCount), train: shuffled.slice(evalCount) };
}

/** One turn exactly as the Gemma chat template renders it (content trimmed, as the template does). */
export function renderGemmaTurn(message: ChatMessage): string {
	return `<start_of_turn>${message.role}\n${message.content.trim()}<end_of_turn>\n`;
}

/** An example as training text: its turns rendered back to back, without <bos> (the trainer adds it). */
export function renderGemmaExample(example: TrainingExample): string {
	return example.messages.map(renderGemmaTurn).join('');
}

/**
 * The seeds' statistics table. What is counted: each turn is rendered as
 * `<start_of_turn>{role}\n{content}<end_of_turn>\n` and encoded on its own; an example's tokens are
 * the sum over its turns (no <bos>); "user tokens" / "model tokens" are the sums over its user /
 * model turns, so user + model = total. Computed over train and eval together.
 */
export function computeDatasetStatistics(
	examples: TrainingExample[],
	tokenizer: Tokenizer,
	variant: PromptVariant,
	tokenizerName = 'unknown'
): DatasetStatistics {
	let total = 0;
	let user = 0;
	let model = 0;
	let max = 0;
	let min = Infinity;
	for (const example of examples) {
		let exampleTokens = 0;
		for (const message of example.messages) {
			const n = tokenizer.encode(renderGemmaTurn(message)).length;
			exampleTokens += n;
			if (message.role === 'user') user += n;
			else model += n;
		}
		total += exampleTokens;
		max = Math.max(max, exampleTokens);
		min = Math.min(min, exampleTokens);
	}
	const n = examples.length;
	return {
		examples: n,
		totalTokens: total,
		averageTokens: n ? total / n : 0,
		maxTokens: n ? max : 0,
		minTokens: n ? min : 0,
		averageUserTokens: n ? user / n : 0,
		averageModelTokens: n ? model / n : 0,
		variant,
		tokenizer: tokenizerName
	};
}

export interface DatasetBuildInput {
	recipe: DatasetRecipe;
	/** The character the variants' prefixes come from. */
	character: Pick<Character, 'name' | 'language' | 'shortPrefix' | 'longPrefix'>;
	dialogues?: Dialogue[];
	/** Already-windowed examples (a curated set, an imported file): used as they are, then varied. */
	examples?: TrainingExample[];
	tokenizer?: Tokenizer;
	tokenizerName?: string;
}

export interface DatasetBuild {
	train: TrainingExample[];
	eval: TrainingExample[];
	statistics?: DatasetStatistics;
	/** Dialogues that were passed but not used, with why (not accepted, other language). */
	leftOut: { dialogueId: string; reason: string }[];
}

/** Pure dataset build: window accepted dialogues, add the given examples, vary, shuffle, split, count. */
export function buildDataset(input: DatasetBuildInput): DatasetBuild {
	const { recipe, character } = input;
	const leftOut: DatasetBuild['leftOut'] = [];
	const examples: TrainingExample[] = [];
	for (const dialogue of input.dialogues ?? []) {
		if (dialogue.status !== 'accepted')
			leftOut.push({
				dialogueId: dialogue.id,
				reason: `status is ${dialogue.status}, not accepted`
			});
		else if (dialogue.language !== recipe.language)
			leftOut.push({
				dialogueId: dialogue.id,
				reason: `language is ${dialogue.language}, the recipe is ${recipe.language}`
			});
		else examples.push(...windowDialogue(dialogue.turns, recipe.window));
	}
	for (const example of input.examples ?? []) examples.push(example);
	const varied = examples.map((e) => applyPromptVariant(e, recipe.variant, character));
	const { train, eval: evalSet } = splitTrainEval(varied, {
		seed: recipe.shuffleSeed,
		evalFraction: recipe.evalFraction,
		evalCap: recipe.evalCap
	});
	const statistics = input.tokenizer
		? computeDatasetStatistics(
				[...train, ...evalSet],
				input.tokenizer,
				recipe.variant,
				input.tokenizerName
			)
		: undefined;
	return { train, eval: evalSet, statistics, leftOut };
}

export function defaultRecipe(
	language: Language,
	overrides: Partial<DatasetRecipe> = {}
): DatasetRecipe {
	return {
		sources: {},
		window: { kind: 'exchange' },
		variant: 'none',
		language,
		endWithEndOfTurn: true,
		shuffleSeed: 42,
		evalFraction: DEFAULT_EVAL_FRACTION,
		evalCap: DEFAULT_EVAL_CAP,
		...overrides
	};
}

/**
 * Resolves a recipe's sources from the database and builds and saves a new Dataset record:
 * dialogueIds when given; otherwise, when neither a curated set nor imported examples are given,
 * every accepted dialogue of the character; the curated set by its curatedKey; plus imported
 * examples passed by the caller. `recipe.endWithEndOfTurn` is kept in the recipe for the trainer:
 * the dataset stores messages, and the Gemma rendering always closes a turn with <end_of_turn>.
 */
/** A recipe whose sources give no example: nothing is saved. */
export class EmptyDatasetError extends Error {
	constructor(readonly leftOut: DatasetBuild['leftOut']) {
		super('these sources give no examples: nothing was saved');
		this.name = 'EmptyDatasetError';
	}
}

export async function buildDatasetFromDb(
	db: StudioDatabase,
	options: {
		name: string;
		recipe: DatasetRecipe;
		characterId: string;
		/** Examples parsed from an imported file (name it in recipe.sources.importedFile). */
		importedExamples?: TrainingExample[];
		tokenizer?: Tokenizer;
		tokenizerName?: string;
	}
): Promise<{ dataset: Dataset; leftOut: DatasetBuild['leftOut'] }> {
	const { recipe } = options;
	const character = await db.characters.get(options.characterId);
	if (!character) throw new Error(`character ${options.characterId} not found`);
	let dialogues: Dialogue[] = [];
	if (recipe.sources.dialogueIds) {
		const rows = await db.dialogues.bulkGet(recipe.sources.dialogueIds);
		rows.forEach((row, i) => {
			if (!row)
				throw new Error(
					`recipe.sources.dialogueIds[${i}]: dialogue ${recipe.sources.dialogueIds![i]} not found`
				);
		});
		dialogues = rows as Dialogue[];
	} else if (!recipe.sources.curatedSet && !options.importedExamples) {
		dialogues = await db.dialogues
			.where('characterId')
			.equals(character.id)
			.filter((d) => d.status === 'accepted')
			.toArray();
	}
	let examples: TrainingExample[] = [];
	if (recipe.sources.curatedSet) {
		const curated = await db.datasets.where('curatedKey').equals(recipe.sources.curatedSet).first();
		if (!curated)
			throw new Error(`recipe.sources.curatedSet: no curated set "${recipe.sources.curatedSet}"`);
		examples = [...curated.train, ...curated.eval].map((e) => ({ messages: e.messages }));
	}
	if (options.importedExamples) examples = [...examples, ...options.importedExamples];
	const built = buildDataset({
		recipe,
		character,
		dialogues,
		examples,
		tokenizer: options.tokenizer,
		tokenizerName: options.tokenizerName
	});
	if (built.train.length + built.eval.length === 0) throw new EmptyDatasetError(built.leftOut);
	const dataset = await createDataset(db, {
		name: options.name,
		origin: 'user',
		recipe,
		train: built.train,
		eval: built.eval,
		...(built.statistics ? { statistics: built.statistics } : {})
	});
	return { dataset, leftOut: built.leftOut };
}
