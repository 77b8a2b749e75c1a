/**
 * Where a model's files come from (ModelSource) as ModelFiles, with the id recorded on everything
 * it generates and download progress in the session's LoadProgress form.
 */
import { filesFromFileList, filesFromUrl, withPaths, type ModelFiles } from '../model/files';
import { hubFiles } from '../model/hub';
import { modelFileList } from '../model/load';
import type { LoadProgress, ModelSource } from './types';

export interface ResolvedSource {
	files: ModelFiles;
	/** Stable id: hub repo@rev, the URL, or local:<folder>. */
	id: string;
	label: string;
	/** Downloads everything first (known total, ETA, resumable); loading then reads the cache. */
	prefetch?: () => Promise<void>;
}

export function resolveModelSource(
	source: ModelSource,
	onProgress?: (p: LoadProgress) => void
): ResolvedSource {
	switch (source.kind) {
		case 'hub': {
			const files = hubFiles(source.repo, source.revision, {
				baseUrl: source.baseUrl,
				onProgress: (p) =>
					onProgress?.({
						phase: 'download',
						file: p.file,
						fileLoaded: p.fileLoaded,
						fileTotal: p.fileTotal,
						loaded: p.loaded,
						total: p.total,
						bytesPerSecond: p.bytesPerSecond,
						etaSeconds: p.etaSeconds,
						fromCache: p.fromCache
					})
			});
			return {
				files,
				id: `${source.repo}@${source.revision}`,
				label: source.repo,
				prefetch: async () => files.prefetch(await modelFileList(files))
			};
		}
		case 'url': {
			const url = new URL(source.url, self.location.href).href;
			return { files: filesFromUrl(url.endsWith('/') ? url : `${url}/`), id: url, label: url };
		}
		case 'files':
			return {
				files: filesFromFileList(withPaths(source.files, source.paths)),
				id: `local:${source.name}`,
				label: source.name
			};
	}
}
