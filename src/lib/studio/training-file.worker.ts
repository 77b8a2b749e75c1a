/// <reference lib="webworker" />
/** Reads and parses one training file off the page's main thread (see training-file.ts). */
import { TrainingFileError } from './formats';
import { parseTrainingText, readTextWithProgress } from './training-file';

self.onmessage = async ({ data }: MessageEvent<{ file: File }>) => {
	const { file } = data;
	try {
		let last = 0;
		const text = await readTextWithProgress(file, (loaded, total) => {
			// at most ~100 progress messages per file
			if (loaded - last >= total / 100 || loaded === total) {
				last = loaded;
				self.postMessage({ type: 'progress', loaded, total });
			}
		});
		self.postMessage({ type: 'done', result: parseTrainingText(text, file.name) });
	} catch (e) {
		self.postMessage(
			e instanceof TrainingFileError
				? { type: 'error', message: e.message, format: e.format, problems: e.problems }
				: { type: 'error', message: `${file.name}: ${(e as Error).message}` }
		);
	}
};
