/**
 * Reading a JSONL or CSV training file the user picked: read once (with progress), parsed once —
 * every row's problem collected, so the page can show them and import the valid rows without
 * reading the file again — and, in the browser, off the page's main thread (training-file.worker.ts),
 * so a 50 MB file does not freeze the page.
 */
import {
	parseCsv,
	parseJsonl,
	TrainingFileError,
	type TrainingFileParse,
	type TrainingFileProblem
} from './formats';

export type TrainingFileProgress = (loaded: number, total: number) => void;

export function trainingFileFormat(name: string): 'jsonl' | 'csv' {
	return /\.csv$/i.test(name) ? 'csv' : 'jsonl';
}

/**
 * Parses a file's text; problems of single rows are collected in `skipped` (the caller decides
 * whether to import without them). Throws TrainingFileError only for a file that cannot be read as
 * rows at all (an unterminated quote, a wrong CSV header).
 */
export function parseTrainingText(text: string, name: string): TrainingFileParse {
	return trainingFileFormat(name) === 'csv'
		? parseCsv(text, { skipInvalid: true })
		: parseJsonl(text, { skipInvalid: true });
}

/** A file's text, read as a stream with progress (UTF-8; a BOM is kept for the parsers to drop). */
export async function readTextWithProgress(
	file: Blob,
	onProgress?: TrainingFileProgress
): Promise<string> {
	if (!file.stream) return file.text();
	const reader = file.stream().getReader();
	const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
	const parts: string[] = [];
	let loaded = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		loaded += value.byteLength;
		parts.push(decoder.decode(value, { stream: true }));
		onProgress?.(loaded, file.size);
	}
	parts.push(decoder.decode());
	return parts.join('');
}

type WorkerReply =
	| { type: 'progress'; loaded: number; total: number }
	| { type: 'done'; result: TrainingFileParse }
	| {
			type: 'error';
			message: string;
			format?: 'jsonl' | 'csv';
			problems?: TrainingFileProblem[];
	  };

/** Read and parse a picked file once; in a worker where the platform has them. */
export async function readTrainingFile(
	file: File,
	onProgress?: TrainingFileProgress
): Promise<TrainingFileParse> {
	if (typeof Worker === 'undefined' || typeof window === 'undefined')
		return parseTrainingText(await readTextWithProgress(file, onProgress), file.name);
	const worker = new Worker(new URL('./training-file.worker.ts', import.meta.url), {
		type: 'module'
	});
	try {
		return await new Promise<TrainingFileParse>((resolve, reject) => {
			worker.onmessage = ({ data }: MessageEvent<WorkerReply>) => {
				if (data.type === 'progress') onProgress?.(data.loaded, data.total);
				else if (data.type === 'done') resolve(data.result);
				else if (data.problems && data.format)
					reject(new TrainingFileError(data.format, data.problems));
				else reject(new Error(data.message));
			};
			worker.onerror = (e) => reject(new Error(`${file.name}: ${e.message}`));
			worker.postMessage({ file });
		});
	} finally {
		worker.terminate();
	}
}
