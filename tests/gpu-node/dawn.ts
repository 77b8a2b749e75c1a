/**
 * The gpu-node layer: kernel tests of tests/gpu run again in plain Node on Dawn (the `webgpu`
 * package), on whatever Vulkan driver the machine has — in CI Mesa's lavapipe from
 * bookworm-backports, which offers `shader-f16` and `subgroups` (SwiftShader in Chromium offers
 * no `shader-f16`), so the f16 variants are tested against the float64 reference here.
 *
 * Each file of this folder is one line: `await onDawn(() => import('../gpu/<file>.test'))`. The
 * imported file registers its tests into the importing one, unchanged: it reads only
 * `navigator.gpu` and the WebGPU globals, which installDawn() provides. Without a Vulkan adapter
 * (no libvulkan.so.1 or no driver) the file registers one skipped test saying so instead, and the
 * layer still passes.
 */
import { it } from 'vitest';
import { installDawn, uninstallDawn } from '../../scripts/engine-harness/dawn';

let probed: Promise<string | null> | null = null;

/** Why Dawn cannot run here, or null when it found an adapter (and its globals are installed). */
export function dawnProblem(): Promise<string | null> {
	probed ??= (async () => {
		try {
			const adapter = await installDawn().requestAdapter();
			if (adapter) return null;
		} catch (e) {
			uninstallDawn();
			return `Dawn failed to start: ${(e as Error).message}`;
		}
		uninstallDawn();
		return 'Dawn found no Vulkan adapter (needs libvulkan1 and a driver, e.g. mesa-vulkan-drivers from bookworm-backports; see DEVELOPERS.md)';
	})();
	return probed;
}

/** Registers the tests of `load`'s module on Dawn, or one skipped test naming why not. */
export async function onDawn(load: () => Promise<unknown>): Promise<void> {
	const problem = await dawnProblem();
	if (problem) it.skip(`skipped: ${problem}`, () => {});
	else await load();
}
