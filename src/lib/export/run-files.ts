/**
 * The Train page's two run files, from what the studio stores: the TRL project zip (before a run:
 * the form's settings; after: the run's) and the run's trainer_state.json.
 */
import type { TrainingRun } from '../data/types';
import { parseTrainingConfig } from '../lora/config';
import { trainerStateFile } from '../lora/trainer-state';
import { safeFileName } from '../ui/download';
import {
	DEFAULT_HF_BASE_MODEL,
	hfBaseModelFor,
	trlProjectFiles,
	trlProjectZip,
	type ChatExample
} from './trl-project';

export interface RunSettings {
	name: string;
	/** The studio's model id (ModelInfo.id / run.base.model); undefined: none loaded. */
	modelId?: string;
	trainingArgs: Record<string, unknown>;
	loraConfig: Record<string, unknown>;
}

export function trlProjectDownload(
	run: RunSettings,
	dataset: { train: ChatExample[]; eval: ChatExample[] }
): { fileName: string; bytes: Uint8Array } {
	const { training, lora } = parseTrainingConfig({
		training: run.trainingArgs,
		lora: run.loraConfig
	});
	const folder = `${safeFileName(run.name).slice(0, 60)}-trl`;
	const files = trlProjectFiles({
		train: dataset.train,
		eval: dataset.eval,
		training,
		lora,
		baseModel: (run.modelId && hfBaseModelFor(run.modelId)) || DEFAULT_HF_BASE_MODEL,
		studioModel: run.modelId,
		runName: run.name
	});
	return { fileName: `${folder}.zip`, bytes: trlProjectZip(files, folder) };
}

/**
 * trainer_state.json of a run from its recorded metrics (the plan needs the dataset's size). No
 * train_runtime: a run's wall-clock span includes its pauses.
 */
export function runTrainerState(
	run: Pick<TrainingRun, 'trainingArgs' | 'loraConfig' | 'metrics'>,
	numTrainExamples: number
): string {
	const { training } = parseTrainingConfig({ training: run.trainingArgs, lora: run.loraConfig });
	return trainerStateFile({
		args: training,
		numExamples: numTrainExamples,
		metrics: run.metrics,
		outputDir: 'output'
	});
}
