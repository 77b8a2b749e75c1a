import { describe, expect, it } from 'vitest';
import {
	base64UrlEncode,
	decodeShareState,
	encodeShareState,
	shareFragment,
	shareStateOf,
	shareUrl,
	type ShareState
} from '../../src/lib/share/link';
import {
	ShareLinkError,
	checkMirrorUrl,
	isRepoId,
	parseAdapterRef
} from '../../src/lib/share/sources';
import {
	judgeEndpointOf,
	mirrorFromHash,
	mirrorPresetUrl,
	networkDestinations
} from '../../src/lib/share/mirror';

const sampling = {
	temperature: 0.3,
	topK: 40,
	topP: 0.95,
	repetitionPenalty: 1.1,
	maxNewTokens: 64
};

const encodeJson = (v: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(v)));

/** The field a decoding error names. */
function fieldOf(encoded: string): string {
	try {
		decodeShareState(encoded);
	} catch (e) {
		expect(e).toBeInstanceOf(ShareLinkError);
		return (e as ShareLinkError).field;
	}
	throw new Error('expected the link to be refused');
}

describe('share link', () => {
	it('round-trips model, adapter, character prompt (Japanese) and sampling through the fragment', () => {
		const state = shareStateOf({
			model: { kind: 'hub', repo: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC', revision: 'main' },
			adapter: { kind: 'hub', repo: 'teacher/socrates-lora', revision: 'v2' },
			characterPrompt: 'あなたは古代ギリシャの哲学者ソクラテスです。',
			sampling
		});
		const url = shareUrl('https://studio.example/', state);
		expect(url.startsWith('https://studio.example/chat#share=')).toBe(true);
		const value = shareFragment(new URL(url).hash)!;
		expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
		expect(decodeShareState(value)).toEqual({
			v: 1,
			model: { kind: 'hub', repo: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC', revision: 'main' },
			adapter: 'hf:teacher/socrates-lora@v2',
			characterPrompt: 'あなたは古代ギリシャの哲学者ソクラテスです。',
			sampling
		});
	});

	it('copies only the fields a link may carry: no API key, endpoint or chat history', () => {
		const chatPage = {
			model: {
				kind: 'hub' as const,
				repo: 'a/b',
				revision: 'main',
				baseUrl: 'http://10.0.0.2/hub'
			},
			characterPrompt: 'Socrates.',
			sampling: { ...sampling, apiKey: 'sk-secret-judge-key' },
			judge: { endpoint: 'https://api.example', apiKey: 'sk-secret-judge-key' },
			messages: [{ role: 'user', content: 'private diary' }]
		};
		const link = shareUrl('https://s.example', shareStateOf(chatPage));
		const decoded = JSON.stringify(decodeShareState(shareFragment(new URL(link).hash)!));
		for (const secret of ['sk-secret-judge-key', 'api.example', 'private diary', '10.0.0.2'])
			expect(decoded).not.toContain(secret);
	});

	it('names the field that is wrong', () => {
		const ok: ShareState = { v: 1, model: { kind: 'hub', repo: 'a/b', revision: 'main' } };
		expect(decodeShareState(encodeShareState(ok))).toEqual(ok);
		expect(fieldOf('***not base64***')).toBe('share');
		expect(fieldOf(base64UrlEncode(new TextEncoder().encode('{"v":1,')))).toBe('share');
		expect(fieldOf(encodeJson({ ...ok, v: 2 }))).toBe('v');
		expect(fieldOf(encodeJson({ model: ok.model }))).toBe('v');
		expect(fieldOf(encodeJson({ ...ok, model: { kind: 'hub', repo: 'not a repo' } }))).toBe(
			'model.repo'
		);
		expect(fieldOf(encodeJson({ ...ok, model: { kind: 'hub', repo: '../../etc' } }))).toBe(
			'model.repo'
		);
		expect(
			fieldOf(encodeJson({ ...ok, model: { kind: 'hub', repo: 'a/b', revision: '../x' } }))
		).toBe('model.revision');
		expect(
			fieldOf(encodeJson({ ...ok, model: { kind: 'url', url: 'http://evil.example/m/' } }))
		).toBe('model.url');
		expect(fieldOf(encodeJson({ ...ok, model: { kind: 'url', url: 'javascript:alert(1)' } }))).toBe(
			'model.url'
		);
		expect(fieldOf(encodeJson({ ...ok, model: { kind: 'files' } }))).toBe('model.kind');
		expect(fieldOf(encodeJson({ ...ok, adapter: 'http://evil.example/lora' }))).toBe('adapter');
		expect(fieldOf(encodeJson({ ...ok, adapter: 'hf:not/a/repo' }))).toBe('adapter');
		expect(fieldOf(encodeJson({ ...ok, adapter: 'ftp://x/y' }))).toBe('adapter');
		expect(fieldOf(encodeJson({ ...ok, sampling: { ...sampling, temperature: 9 } }))).toBe(
			'sampling.temperature'
		);
		expect(fieldOf(encodeJson({ ...ok, sampling: { ...sampling, maxNewTokens: 1.5 } }))).toBe(
			'sampling.maxNewTokens'
		);
		expect(fieldOf(encodeJson({ ...ok, apiKey: 'sk-x' }))).toBe('apiKey');
		expect(fieldOf(encodeJson({ ...ok, characterPrompt: 42 }))).toBe('characterPrompt');
		expect(fieldOf(encodeJson([1, 2]))).toBe('share');
	});

	it('allows http only for a mirror on this machine, and same-origin model paths', () => {
		const local = { v: 1, model: { kind: 'url', url: 'http://127.0.0.1:8080/models/tiny/' } };
		expect(decodeShareState(encodeJson(local)).model).toEqual(local.model);
		const path = { v: 1, model: { kind: 'url', url: '/models/tiny-mlc/' } };
		expect(decodeShareState(encodeJson(path)).model).toEqual(path.model);
		expect(fieldOf(encodeJson({ v: 1, model: { kind: 'url', url: '//evil.example/x' } }))).toBe(
			'model.url'
		);
		expect(fieldOf(encodeJson({ v: 1, model: { kind: 'url', url: 'https://u:p@host/x' } }))).toBe(
			'model.url'
		);
	});

	it('reads adapter references: hf:owner/name[@rev] and https folder URLs', () => {
		expect(parseAdapterRef('adapter', 'hf:me/lora')).toEqual({
			kind: 'hub',
			repo: 'me/lora',
			revision: 'main'
		});
		expect(parseAdapterRef('adapter', 'hf:me/lora@abc123')).toEqual({
			kind: 'hub',
			repo: 'me/lora',
			revision: 'abc123'
		});
		expect(parseAdapterRef('adapter', 'https://x.example/a/')).toEqual({
			kind: 'url',
			url: 'https://x.example/a/'
		});
		expect(isRepoId('google/gemma-2-2b-jpn-it')).toBe(true);
		expect(isRepoId('a--b/c')).toBe(false);
		expect(isRepoId('a/b/c')).toBe(false);
	});
});

describe('mirror preset and network destinations', () => {
	it('a classroom preset URL gives back its mirror; http on another host is refused', () => {
		const url = new URL(
			mirrorPresetUrl('http://192.168.1.20:8080', 'http://192.168.1.20:8080/hub')
		);
		expect(url.pathname).toBe('/settings');
		expect(mirrorFromHash(url.hash, 'http://192.168.1.20:8080')).toBe(
			'http://192.168.1.20:8080/hub'
		);
		expect(() => mirrorFromHash(url.hash, 'https://studio.example')).toThrow(ShareLinkError);
		expect(mirrorFromHash('#share=abc', 'http://x')).toBeNull();
		expect(checkMirrorUrl('http://127.0.0.1:4179/models/hub/')).toBe(
			'http://127.0.0.1:4179/models/hub'
		);
		expect(checkMirrorUrl('https://hf-mirror.example')).toBe('https://hf-mirror.example');
	});

	it('reads the judge endpoint from either setting, only for a remote judge', () => {
		expect(judgeEndpointOf(null, { kind: 'remote', endpoint: 'http://localhost:11434/v1' })).toBe(
			'http://localhost:11434/v1'
		);
		expect(
			judgeEndpointOf(null, { kind: 'local', endpoint: 'https://api.openai.com/v1' })
		).toBeNull();
		expect(judgeEndpointOf('https://a.example', null)).toBe('https://a.example');
	});

	it('lists the hub or the mirror, the judge origin, never a key', () => {
		expect(networkDestinations({}).map((d) => d.origin)).toContain('https://huggingface.co');
		const list = networkDestinations({
			mirror: 'http://10.0.0.5:8080/hub',
			judgeEndpoint: 'http://localhost:11434/v1'
		});
		expect(list.filter((d) => d.purpose !== 'share')).toEqual([
			{ purpose: 'mirror', origin: 'http://10.0.0.5:8080' },
			{ purpose: 'judge', origin: 'http://localhost:11434' }
		]);
	});
});
