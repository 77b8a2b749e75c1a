/**
 * What went wrong when a model did not load, in terms a person can act on. The loaders throw
 * errors whose messages name the file and the cause (src/lib/model/hub.ts, files.ts, config.ts);
 * this sorts them into a few kinds the UI explains, each with the next things to try. The original
 * message stays available as the detail. The model session's typed GPU errors (device lost, out of
 * memory) are known by their code.
 */
import { isSessionError } from '../session/errors';

export type LoadErrorKind =
	'offline' | 'notFound' | 'denied' | 'storage' | 'noFolder' | 'format' | 'gpu' | 'unknown';

export interface LoadErrorInfo {
	kind: LoadErrorKind;
	/** The loader's own message (file, field, HTTP status). */
	detail: string;
}

const RULES: [LoadErrorKind, RegExp][] = [
	['noFolder', /no (model )?folder|choose a folder|no files/i],
	['storage', /quota|QuotaExceeded|storage (is )?full|not enough (storage|space)/i],
	['denied', /HTTP (401|403)\b|gated|unauthori[sz]ed|forbidden/i],
	['notFound', /HTTP 404\b|file not found|not found in/i],
	[
		'offline',
		/could not (download|reach)|failed to fetch|networkerror|network error|load failed|interrupted|ended early|ERR_INTERNET|offline/i
	],
	['gpu', /webgpu|gpu device|device (was )?lost|out of memory|createBuffer|adapter/i],
	['format', /config\.json|safetensors|tokenizer|tensor|shape|dtype|json|ModelFormatError/i]
];

export function classifyLoadError(error: unknown): LoadErrorInfo {
	if (isSessionError(error, 'device-lost') || isSessionError(error, 'out-of-memory'))
		return { kind: 'gpu', detail: error.message };
	const detail =
		error instanceof Error
			? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
			: String(error);
	const kind = RULES.find(([, re]) => re.test(detail))?.[0] ?? 'unknown';
	return { kind, detail };
}
