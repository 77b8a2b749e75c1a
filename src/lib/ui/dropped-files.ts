/**
 * The files of what the user dropped (a model folder, or loose files), with their paths: folders are
 * walked through the File and Directory Entries API (`webkitGetAsEntry`), since a dropped folder
 * gives no `webkitRelativePath`. Paths start with the dropped folder's name ("gemma/config.json");
 * loose files are their own names.
 */
export async function droppedFiles(
	data: DataTransfer
): Promise<{ name: string; files: File[]; paths: string[] }> {
	const files: File[] = [];
	const paths: string[] = [];
	const entries = Array.from(data.items)
		.filter((i) => i.kind === 'file')
		.map((i) => i.webkitGetAsEntry?.() ?? null);
	if (entries.length === 0 || entries.some((e) => e === null)) {
		// no entries API: loose files only
		for (const f of Array.from(data.files)) {
			files.push(f);
			paths.push(f.name);
		}
	} else {
		for (const e of entries as FileSystemEntry[]) await walk(e, '', files, paths);
	}
	const first = entries.find((e) => e?.isDirectory);
	return { name: first?.name ?? 'dropped files', files, paths };
}

async function walk(entry: FileSystemEntry, dir: string, files: File[], paths: string[]) {
	const path = dir ? `${dir}/${entry.name}` : entry.name;
	if (entry.isFile) {
		const file = await new Promise<File>((resolve, reject) =>
			(entry as FileSystemFileEntry).file(resolve, reject)
		);
		files.push(file);
		paths.push(path);
		return;
	}
	const reader = (entry as FileSystemDirectoryEntry).createReader();
	// readEntries returns the folder in batches (100 in Chromium) until an empty one
	for (;;) {
		const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
			reader.readEntries(resolve, reject)
		);
		if (batch.length === 0) break;
		for (const e of batch) await walk(e, path, files, paths);
	}
}
