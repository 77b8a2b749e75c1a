/**
 * Hub cards: the `README.md` of a published adapter (model card) and of a published dataset
 * (dataset card), with the YAML front matter the Hub reads (`base_model`, `library_name: peft`,
 * `tags`, `language`, `license`, `pipeline_tag`; for datasets `configs` / `data_files`), and the
 * loss curve's geometry (drawn as PNG by loss-image.ts, or as SVG here).
 *
 * YAML scalars are written as JSON strings/numbers: every JSON scalar is a valid YAML flow scalar,
 * so a character name with a colon or quotes cannot break the front matter.
 */
import { huggingFaceBaseModel } from './base-model';
import type { DatasetRecipe, DatasetStatistics, TrainingMetric } from '../data/types';

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml | undefined };

function yamlLines(value: Yaml, indent: string): string[] {
	if (Array.isArray(value))
		return value.flatMap((v) => {
			const inner = yamlLines(v, `${indent}  `);
			return typeof v === 'object' && v !== null
				? [`${indent}- ${inner[0].trimStart()}`, ...inner.slice(1)]
				: [`${indent}- ${JSON.stringify(v)}`];
		});
	if (typeof value === 'object' && value !== null)
		return Object.entries(value).flatMap(([k, v]) => {
			if (v === undefined) return [];
			if (typeof v === 'object' && v !== null) {
				if (Array.isArray(v) && v.length === 0) return [`${indent}${k}: []`];
				return [`${indent}${k}:`, ...yamlLines(v, `${indent}  `)];
			}
			return [`${indent}${k}: ${JSON.stringify(v)}`];
		});
	return [`${indent}${JSON.stringify(value)}`];
}

/** `---\n…\n---\n` from a plain object (keys in order, undefined left out). */
export function frontMatter(meta: { [key: string]: Yaml | undefined }): string {
	return `---\n${yamlLines(meta, '').join('\n')}\n---\n`;
}

/** The Hugging Face original of an MLC build (one mapping: base-model.ts). */
export const hubBaseModelOf = huggingFaceBaseModel;

/** A tag the Hub accepts: lower case letters, digits and dashes. */
export function tagOf(text: string): string {
	return text
		.normalize('NFKD')
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '-')
		.replace(/^-+|-+$/g, '')
		.slice(0, 64);
}

const cell = (v: unknown) =>
	String(typeof v === 'object' ? JSON.stringify(v) : v)
		.replace(/\|/g, '\\|')
		.replace(/\n/g, ' ');

function table(header: [string, string], rows: [string, unknown][]): string {
	return [
		`| ${header[0]} | ${header[1]} |`,
		'|---|---|',
		...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`)
	].join('\n');
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** The seeds' statistics table (src/lib/studio/dataset.ts computeDatasetStatistics). */
export function statisticsTable(s: DatasetStatistics): string {
	return table(
		['statistic', 'value'],
		[
			['examples', s.examples],
			['total tokens', s.totalTokens],
			['average tokens per example', round(s.averageTokens)],
			['max tokens', s.maxTokens],
			['min tokens', s.minTokens],
			['average user tokens', round(s.averageUserTokens)],
			['average model tokens', round(s.averageModelTokens)],
			['prompt variant', s.variant],
			['tokenizer', s.tokenizer]
		]
	);
}

export function recipeTable(r: DatasetRecipe, counts?: { train: number; eval: number }): string {
	const sources = [
		r.sources.curatedSet && `curated set ${r.sources.curatedSet}`,
		r.sources.dialogueIds && `${r.sources.dialogueIds.length} reviewed dialogues`,
		r.sources.importedFile && `imported file ${r.sources.importedFile}`
	].filter(Boolean);
	return table(
		['recipe', 'value'],
		[
			['sources', sources.join(', ') || 'accepted dialogues of the character'],
			['window', r.window.kind === 'exchange' ? 'one exchange' : `${r.window.size} utterances`],
			['prompt variant', r.variant],
			['language', r.language],
			['shuffle seed', r.shuffleSeed],
			['eval fraction / cap', `${r.evalFraction} / ${r.evalCap}`],
			...(counts
				? ([['train / eval examples', `${counts.train} / ${counts.eval}`]] as [string, unknown][])
				: [])
		]
	);
}

/** What both cards say about the data: the character, languages, license, recipe and statistics. */
interface CardData {
	/** owner/name the card is published under (for the usage snippet). */
	repo: string;
	name: string;
	character?: string;
	languages: string[];
	license?: string;
	recipe?: DatasetRecipe;
	statistics?: DatasetStatistics;
	counts?: { train: number; eval: number };
}

/** The recipe and statistics tables, under the given headings (when the card has them). */
function datasetSections(c: CardData, recipeTitle: string, statisticsTitle: string): string[] {
	return [
		...(c.recipe ? ['', `## ${recipeTitle}`, '', recipeTable(c.recipe, c.counts)] : []),
		...(c.statistics ? ['', `## ${statisticsTitle}`, '', statisticsTable(c.statistics)] : [])
	];
}

export interface AdapterCardInput extends CardData {
	/** The model the adapter was trained on, as recorded (MLC ids are mapped to the HF original). */
	baseModel: string;
	r: number;
	loraAlpha: number;
	targetModules: string[];
	trainingArgs?: Record<string, unknown>;
	loraConfig?: Record<string, unknown>;
	/** Path of the loss curve image in the repo (`loss.png`). */
	lossImage?: string;
	finalLoss?: number;
	steps?: number;
}

/** The adapter's README.md: front matter, what it is, how to load it, how it was trained. */
export function adapterModelCard(c: AdapterCardInput): string {
	const base = hubBaseModelOf(c.baseModel);
	const tags = ['peft', 'lora', 'mondo-studio', ...(c.character ? [tagOf(c.character)] : [])];
	const meta = frontMatter({
		base_model: base,
		library_name: 'peft',
		pipeline_tag: 'text-generation',
		tags: [...new Set(tags.filter(Boolean))],
		language: c.languages,
		license: c.license
	});
	const parts = [
		meta,
		`# ${c.name}`,
		'',
		`A LoRA adapter (rank ${c.r}, alpha ${c.loraAlpha}; ${c.targetModules.join(', ')}) for [${base}](https://huggingface.co/${base})` +
			(c.character
				? `, trained in Mondō Studio to speak as ${c.character}.`
				: ', trained in Mondō Studio.'),
		'',
		'## Use it',
		'',
		'```python',
		'from peft import PeftModel',
		'from transformers import AutoModelForCausalLM, AutoTokenizer',
		'',
		`base = AutoModelForCausalLM.from_pretrained(${JSON.stringify(base)})`,
		`model = PeftModel.from_pretrained(base, ${JSON.stringify(c.repo)})`,
		`tokenizer = AutoTokenizer.from_pretrained(${JSON.stringify(base)})`,
		'```',
		'',
		`In Mondō Studio: Adapters → import \`hf:${c.repo}\`, or open a share link that names it.`
	];
	if (c.lossImage || c.finalLoss !== undefined) {
		parts.push('', '## Training loss', '');
		if (c.lossImage) parts.push(`![Training loss per step](${c.lossImage})`, '');
		if (c.finalLoss !== undefined)
			parts.push(`Final training loss ${c.finalLoss.toFixed(4)} after ${c.steps ?? '?'} steps.`);
	}
	const sections: [string, string, Record<string, unknown> | undefined][] = [
		['Training arguments', 'argument', c.trainingArgs],
		['LoRA configuration', 'field', c.loraConfig]
	];
	for (const [title, key, values] of sections)
		if (values && Object.keys(values).length)
			parts.push('', `## ${title}`, '', table([key, 'value'], Object.entries(values)));
	parts.push(...datasetSections(c, 'Dataset recipe', 'Dataset statistics'));
	return `${parts.join('\n')}\n`;
}

export interface DatasetCardInput extends CardData {
	counts: { train: number; eval: number };
}

export const DATASET_TRAIN_FILE = 'data/train.jsonl';
export const DATASET_EVAL_FILE = 'data/eval.jsonl';

/** The dataset's README.md, with `configs` so the Hub's viewer and `load_dataset` find both splits. */
export function datasetCard(c: DatasetCardInput): string {
	const dataFiles: Yaml[] = [{ split: 'train', path: DATASET_TRAIN_FILE }];
	if (c.counts.eval > 0) dataFiles.push({ split: 'eval', path: DATASET_EVAL_FILE });
	const meta = frontMatter({
		language: c.languages,
		license: c.license,
		tags: ['mondo-studio', 'conversational', ...(c.character ? [tagOf(c.character)] : [])].filter(
			Boolean
		),
		task_categories: ['text-generation'],
		configs: [{ config_name: 'default', data_files: dataFiles }]
	});
	const parts = [
		meta,
		`# ${c.name}`,
		'',
		`Chat examples${c.character ? ` of ${c.character}` : ''} made in Mondō Studio: one JSON object per line, ` +
			'`{"messages": [{"role": "user"|"assistant", "content": …}]}` (the format of TRL, Hugging Face datasets and OpenAI fine-tuning).',
		'',
		`${c.counts.train} training and ${c.counts.eval} evaluation examples.`,
		'',
		'```python',
		'from datasets import load_dataset',
		'',
		`ds = load_dataset(${JSON.stringify(c.repo)})`,
		'```'
	];
	parts.push(...datasetSections(c, 'Recipe', 'Statistics'));
	return `${parts.join('\n')}\n`;
}

// ------------------------------------------------------------------------ loss curve

export interface LossCurve {
	width: number;
	height: number;
	/** Plot area: left, top, right, bottom in pixels. */
	plot: { left: number; top: number; right: number; bottom: number };
	train: [number, number][];
	eval: [number, number][];
	yTicks: { y: number; label: string }[];
	xTicks: { x: number; label: string }[];
}

/** Pixel positions of the training (and eval) loss per step, with axis ticks. */
export function lossCurveGeometry(
	metrics: TrainingMetric[],
	width = 640,
	height = 320
): LossCurve | null {
	const train = metrics.filter((m) => Number.isFinite(m.loss));
	const evals = metrics.filter((m) => Number.isFinite(m.evalLoss));
	if (train.length + evals.length === 0) return null;
	const values = [...train.map((m) => m.loss!), ...evals.map((m) => m.evalLoss!)];
	const steps = [...train, ...evals].map((m) => m.step);
	let lo = Math.min(...values);
	let hi = Math.max(...values);
	if (hi - lo < 1e-9) ((lo -= 0.5), (hi += 0.5));
	const s0 = Math.min(...steps);
	const s1 = Math.max(...steps) === s0 ? s0 + 1 : Math.max(...steps);
	const plot = { left: 56, top: 16, right: width - 16, bottom: height - 36 };
	const x = (s: number) => plot.left + ((s - s0) / (s1 - s0)) * (plot.right - plot.left);
	const y = (v: number) => plot.bottom - ((v - lo) / (hi - lo)) * (plot.bottom - plot.top);
	const ticks = 4;
	return {
		width,
		height,
		plot,
		train: train.map((m) => [x(m.step), y(m.loss!)]),
		eval: evals.map((m) => [x(m.step), y(m.evalLoss!)]),
		yTicks: Array.from({ length: ticks + 1 }, (_, i) => {
			const v = lo + ((hi - lo) * i) / ticks;
			return { y: y(v), label: v.toFixed(3) };
		}),
		xTicks: Array.from({ length: ticks + 1 }, (_, i) => {
			const s = s0 + ((s1 - s0) * i) / ticks;
			return { x: x(s), label: String(Math.round(s)) };
		})
	};
}

export const LOSS_COLORS = { train: '#1f3a5f', eval: '#c0392b', axis: '#888888', text: '#333333' };

/** The loss curve as a standalone SVG (where a PNG cannot be drawn). */
export function lossCurveSvg(g: LossCurve): string {
	const f = (n: number) => n.toFixed(1);
	const path = (pts: [number, number][]) =>
		pts.map(([x, y], i) => `${i ? 'L' : 'M'}${f(x)},${f(y)}`).join(' ');
	const { plot } = g;
	const parts = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" font-family="sans-serif" font-size="11">`,
		`<rect width="100%" height="100%" fill="#ffffff"/>`,
		`<path d="M${plot.left},${plot.top} V${plot.bottom} H${plot.right}" fill="none" stroke="${LOSS_COLORS.axis}"/>`,
		...g.yTicks.map(
			(t) =>
				`<text x="${plot.left - 6}" y="${f(t.y + 4)}" text-anchor="end" fill="${LOSS_COLORS.text}">${t.label}</text>`
		),
		...g.xTicks.map(
			(t) =>
				`<text x="${f(t.x)}" y="${plot.bottom + 16}" text-anchor="middle" fill="${LOSS_COLORS.text}">${t.label}</text>`
		),
		`<text x="${(plot.left + plot.right) / 2}" y="${g.height - 4}" text-anchor="middle" fill="${LOSS_COLORS.text}">step</text>`,
		g.train.length
			? `<path d="${path(g.train)}" fill="none" stroke="${LOSS_COLORS.train}" stroke-width="2"/>`
			: '',
		g.eval.length
			? `<path d="${path(g.eval)}" fill="none" stroke="${LOSS_COLORS.eval}" stroke-width="2" stroke-dasharray="5 3"/>`
			: '',
		`</svg>`
	];
	return parts.filter(Boolean).join('\n');
}
