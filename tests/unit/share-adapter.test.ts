import { describe, expect, it } from 'vitest';
import { MAX_ADAPTER_BYTES, inspectSharedAdapter } from '../../src/lib/share/adapter-check';
import { ShareLinkError, parseAdapterRef } from '../../src/lib/share/sources';

const config = JSON.stringify({
	base_model_name_or_path: 'google/gemma-2-2b-jpn-it',
	r: 8,
	target_modules: ['q_proj', 'v_proj'],
	peft_type: 'LORA'
});

/** A fake server: path → { size declared by HEAD, body for GET }. Records what was asked. */
function fakeFetch(
	files: Record<string, { size: number | null; body?: string; linked?: boolean }>
) {
	const calls: { url: string; method: string }[] = [];
	const fetch = async (url: string, init?: RequestInit) => {
		const method = init?.method ?? 'GET';
		calls.push({ url, method });
		const f = files[url];
		if (!f) return new Response('not found', { status: 404 });
		const headers = new Headers();
		if (f.size !== null) headers.set(f.linked ? 'x-linked-size' : 'content-length', String(f.size));
		return new Response(method === 'HEAD' ? null : (f.body ?? ''), { status: 200, headers });
	};
	return { fetch, calls };
}

describe('shared adapter size check', () => {
	it('reads the declared sizes and the base model of a hub adapter (through a mirror)', async () => {
		const base = 'http://127.0.0.1:9/hub/me/lora/resolve/main';
		const { fetch, calls } = fakeFetch({
			[`${base}/adapter_config.json`]: { size: config.length, body: config },
			[`${base}/adapter_model.safetensors`]: { size: 3_200_000, linked: true }
		});
		const info = await inspectSharedAdapter(parseAdapterRef('adapter', 'hf:me/lora'), {
			fetch,
			hubBaseUrl: 'http://127.0.0.1:9/hub'
		});
		expect(info.totalBytes).toBe(config.length + 3_200_000);
		expect(info.baseModel).toBe('google/gemma-2-2b-jpn-it');
		expect(info.r).toBe(8);
		expect(info.targetModules).toEqual(['q_proj', 'v_proj']);
		// the weights are only asked about (HEAD), never downloaded
		expect(calls.filter((c) => c.url.endsWith('.safetensors')).map((c) => c.method)).toEqual([
			'HEAD'
		]);
	});

	it('refuses an adapter whose files declare more than the cap, before any GET', async () => {
		const base = 'https://files.example/lora';
		const { fetch, calls } = fakeFetch({
			[`${base}/adapter_config.json`]: { size: config.length, body: config },
			[`${base}/adapter_model.safetensors`]: { size: MAX_ADAPTER_BYTES + 1 }
		});
		const ref = parseAdapterRef('adapter', `${base}/`);
		await expect(inspectSharedAdapter(ref, { fetch })).rejects.toThrow(/over the 64\.0 MB limit/);
		await expect(inspectSharedAdapter(ref, { fetch })).rejects.toBeInstanceOf(ShareLinkError);
		expect(calls.every((c) => c.method === 'HEAD')).toBe(true);
	});

	it('says which file is missing; unknown sizes stay unknown', async () => {
		const base = 'https://files.example/lora';
		const { fetch } = fakeFetch({ [`${base}/adapter_config.json`]: { size: null, body: config } });
		await expect(inspectSharedAdapter(parseAdapterRef('adapter', base), { fetch })).rejects.toThrow(
			/no adapter_model\.safetensors/
		);
		const ok = fakeFetch({
			[`${base}/adapter_config.json`]: { size: null, body: config },
			[`${base}/adapter_model.safetensors`]: { size: null }
		});
		const info = await inspectSharedAdapter(parseAdapterRef('adapter', base), { fetch: ok.fetch });
		expect(info.totalBytes).toBeNull();
	});
});

describe('downloadSharedAdapter', () => {
	it('refuses a server that sends more than the cap, whatever it declared', async () => {
		const { downloadSharedAdapter } = await import('../../src/lib/share/adapter-check');
		const big = new Uint8Array(2048);
		const fetchStub = async (url: string) =>
			new Response(url.endsWith('adapter_config.json') ? '{"peft_type":"LORA"}' : big, {
				headers: { 'content-length': '10' }
			});
		await expect(
			downloadSharedAdapter(
				{ kind: 'url', url: 'https://example.test/a' },
				{ fetch: fetchStub, maxBytes: 1000 }
			)
		).rejects.toThrow(/more than the 1000 bytes/);
		const files = await downloadSharedAdapter(
			{ kind: 'url', url: 'https://example.test/a' },
			{ fetch: fetchStub, maxBytes: 4096 }
		);
		expect(files.get('adapter_model.safetensors')?.byteLength).toBe(2048);
	});
});
