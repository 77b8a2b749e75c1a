import { expect, it } from 'vitest';
it('has a WebGPU adapter', async () => {
	const a = await navigator.gpu.requestAdapter();
	expect(a).not.toBeNull();
});
