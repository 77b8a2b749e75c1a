/**
 * Token statistics of a dataset with the loaded model's tokenizer (in the engine worker), batch by
 * batch so a large dataset shows progress.
 */
import type { DatasetStatistics, PromptVariant, TrainingExample } from '../data/types';
import { computeDatasetStatistics, renderGemmaTurn } from './dataset';
import { prepareTokenizer } from './worker-model';

/** How statistics name the tokenizer: the model's label, with its id when they differ. */
export function tokenizerName(model: { id: string; label: string }): string {
	return model.label === model.id ? model.id : `${model.label} (${model.id})`;
}

export async function countDatasetTokens(
	examples: TrainingExample[],
	variant: PromptVariant,
	model: { id: string; label: string },
	onProgress?: (done: number, total: number) => void
): Promise<DatasetStatistics> {
	const texts = examples.flatMap((e) => e.messages.map(renderGemmaTurn));
	const tokenizer = await prepareTokenizer(texts, { onProgress });
	return computeDatasetStatistics(examples, tokenizer, variant, tokenizerName(model));
}
