// svelte-kit sync, then svelte-check with 0 errors required.
import { spawnSync } from 'node:child_process';
const run = (cmd, args) =>
	spawnSync(`node_modules/.bin/${cmd}`, args, { stdio: 'inherit' }).status ?? 1;
const code =
	run('svelte-kit', ['sync']) ||
	run('svelte-check', ['--tsconfig', './tsconfig.json', '--threshold', 'error']);
process.exit(code);
