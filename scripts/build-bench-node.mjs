// Builds the self-contained Node benchmark for a GPU machine with no browser and no node_modules
// (see DEVELOPERS.md, "Benchmarks on a GPU machine without a browser"):
//
//   .node/bench-node.mjs                                   the bench, WGSL inlined (Vite SSR build)
//   .node/node_modules/webgpu/{package.json,index.js}      the `webgpu` wrapper, unchanged
//   .node/node_modules/webgpu/dist/linux-x64/dawn.node.xz  Dawn for linux-x64, xz-compressed
//
// Usage: node scripts/build-bench-node.mjs [OUTDIR]   (default .node, which .gitignore ignores)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(repo, process.argv[2] ?? '.node');

await build({
	configFile: false,
	root: repo,
	logLevel: 'warn',
	build: {
		ssr: 'scripts/engine-harness/bench-node-entry.ts',
		outDir: out,
		emptyOutDir: false,
		minify: false,
		sourcemap: false,
		target: 'node20',
		rolldownOptions: {
			external: ['webgpu'],
			output: { entryFileNames: 'bench-node.mjs', format: 'es', codeSplitting: false }
		}
	},
	ssr: { noExternal: true, external: ['webgpu'] }
});

const src = join(repo, 'node_modules/webgpu');
const dst = join(out, 'node_modules/webgpu');
rmSync(dst, { recursive: true, force: true });
mkdirSync(join(dst, 'dist/linux-x64'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md'])
	copyFileSync(join(src, f), join(dst, f));
const dawn = join(dst, 'dist/linux-x64/dawn.node');
copyFileSync(join(src, 'dist/linux-x64/dawn.node'), dawn);
execFileSync('xz', ['-T0', '-6', '-f', dawn]); // → dawn.node.xz; the device unpacks it

const size = (p) => `${(statSync(p).size / 2 ** 20).toFixed(2)} MiB`;
console.log(`${join(out, 'bench-node.mjs')}: ${size(join(out, 'bench-node.mjs'))}`);
console.log(`${dawn}.xz: ${size(`${dawn}.xz`)}`);
