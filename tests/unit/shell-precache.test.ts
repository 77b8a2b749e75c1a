import { describe, expect, it } from 'vitest';
import { isShellFile, relativeImports } from '../../src/lib/shell/precache.js';

describe('app shell precache', () => {
	it('leaves runtime assets (wasm, source maps) out', () => {
		expect(isShellFile('/_app/immutable/workers/assets/ort-wasm-simd-threaded.asyncify.wasm')).toBe(
			false
		);
		expect(isShellFile('/_app/immutable/chunks/a.js.map')).toBe(false);
		expect(isShellFile('/_app/immutable/chunks/a.js')).toBe(true);
	});

	it('finds the chunks a built worker imports, static and dynamic', () => {
		const code =
			'import{a as b}from"./chunks/A.js";const c=()=>import(`./chunks/B.js`),d=import("../x/C.js");import"./D.js";';
		expect(relativeImports(code, '/_app/immutable/workers/model.worker-X.js').sort()).toEqual([
			'/_app/immutable/workers/D.js',
			'/_app/immutable/workers/chunks/A.js',
			'/_app/immutable/workers/chunks/B.js',
			'/_app/immutable/x/C.js'
		]);
		expect(relativeImports('fetch("https://a.b/c.js");x.from("./y.txt")', '/w.js')).toEqual([]);
	});
});
