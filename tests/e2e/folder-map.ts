import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file under `dir`, by its path relative to `dir` (what filesFromMap and the PEFT readers take). */
export function folderMap(dir: string): Map<string, Uint8Array> {
	const map = new Map<string, Uint8Array>();
	const walk = (d: string) => {
		for (const name of readdirSync(d)) {
			const p = join(d, name);
			if (statSync(p).isDirectory()) walk(p);
			else map.set(relative(dir, p), new Uint8Array(readFileSync(p)));
		}
	};
	walk(dir);
	return map;
}
