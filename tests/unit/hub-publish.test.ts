/**
 * Publishing with the real @huggingface/hub client against the local Hub stand-in
 * (scripts/hub-standin.mjs): token check, repo creation, LFS + regular files in one commit, the
 * errors a user can meet (bad token, name taken, someone else's namespace, offline), and reading
 * the published adapter back through the share path (`hf:owner/name@<commit>` via the mirror).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubStandin } from '../../scripts/hub-standin.mjs';
import {
	HubPublishError,
	checkToken,
	maskToken,
	publishFiles,
	type PublishProgress,
	type PublishRequest
} from '../../src/lib/export/hub-publish';
import { adapterModelCard, frontMatter, hubBaseModelOf } from '../../src/lib/export/model-card';
import { createLoraAdapter } from '../../src/lib/lora/adapter';
import { LORA_DEFAULTS } from '../../src/lib/lora/config';
import { exportPeftFiles, importPeftFolder } from '../../src/lib/lora/peft';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';
import { downloadSharedAdapter } from '../../src/lib/share/adapter-check';
import { parseAdapterRef } from '../../src/lib/share/sources';

type Standin = Awaited<ReturnType<typeof startHubStandin>>;
let hub: Standin;

const PEFT = exportPeftFiles(
	TINY_CONFIG,
	createLoraAdapter(
		TINY_CONFIG,
		{ ...LORA_DEFAULTS, r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] },
		7
	),
	{ baseModel: 'google/gemma-2-2b-jpn-it' }
);
const README = '---\nlibrary_name: "peft"\n---\n# hi\n';
const blob = (b: Uint8Array | string) => new Blob([b as BlobPart]);

beforeAll(async () => {
	hub = await startHubStandin({
		token: 'hf_good',
		user: 'alice',
		orgs: ['class-7'],
		existing: [{ type: 'model', name: 'bob/taken' }]
	});
});
afterAll(() => hub.close());

function request(over: Partial<PublishRequest> = {}): PublishRequest {
	return {
		hubUrl: hub.url,
		accessToken: 'hf_good',
		repo: 'alice/socrates-lora',
		type: 'model',
		private: false,
		allowExisting: false,
		title: 'Publish from Mondō Studio',
		files: [
			{ path: 'adapter_config.json', content: blob(PEFT['adapter_config.json']) },
			{ path: 'adapter_model.safetensors', content: blob(PEFT['adapter_model.safetensors']) },
			{ path: 'README.md', content: blob(README) }
		],
		...over
	};
}

describe('Hub publishing (real @huggingface/hub against the stand-in)', () => {
	it('checks a token with whoAmI and lists the namespaces it may publish under', async () => {
		expect(await checkToken(hub.url, 'hf_good')).toMatchObject({
			name: 'alice',
			namespaces: ['alice', 'class-7']
		});
		await expect(checkToken(hub.url, 'hf_wrong')).rejects.toMatchObject({ code: 'badToken' });
		expect(maskToken('hf_abcdefghijklmnop')).toBe('hf_••••••mnop');
		expect(maskToken('hf_abcdefghijklmnop')).not.toContain('abcdefghijkl');
	});

	it('creates the repo and commits PEFT files byte for byte, with progress up to the total', async () => {
		const progress: PublishProgress[] = [];
		const result = await publishFiles(request({ onProgress: (p) => progress.push(p) }));
		expect(result.repo).toBe('alice/socrates-lora');
		expect(result.created).toBe(true);
		expect(result.revision).toMatch(/^[0-9a-f]{40}$/);
		expect(result.url).toBe(`${hub.url}/alice/socrates-lora`);
		const files = hub.files('alice/socrates-lora', { revision: result.revision })!;
		expect([...files.keys()].sort()).toEqual([
			'README.md',
			'adapter_config.json',
			'adapter_model.safetensors'
		]);
		expect(new Uint8Array(files.get('adapter_model.safetensors')!)).toEqual(
			PEFT['adapter_model.safetensors']
		);
		expect(new Uint8Array(files.get('adapter_config.json')!)).toEqual(PEFT['adapter_config.json']);
		// the safetensors went through git-LFS (batch + PUT), the rest inline in the ndjson commit
		expect(hub.requests.some((r) => r.path.endsWith('.git/info/lfs/objects/batch'))).toBe(true);
		expect(hub.requests.some((r) => r.method === 'PUT' && r.path.startsWith('/__lfs/'))).toBe(true);
		const last = progress.at(-1)!;
		expect(last.phase).toBe('done');
		expect(last.loaded).toBe(last.total);
		expect(last.total).toBe(
			PEFT['adapter_config.json'].length + PEFT['adapter_model.safetensors'].length + README.length
		);
		expect(progress.map((p) => p.phase)).toContain('committing');
	});

	it('a published adapter loads back through the share path (hf:owner/name@commit via the mirror)', async () => {
		const result = await publishFiles(request({ repo: 'alice/loads-back' }));
		const ref = parseAdapterRef('adapter', `hf:alice/loads-back@${result.revision}`);
		const files = await downloadSharedAdapter(ref, { hubBaseUrl: hub.url });
		const imported = importPeftFolder(TINY_CONFIG, files);
		expect(imported.adapter.config.r).toBe(2);
		expect(files.get('adapter_model.safetensors')).toEqual(PEFT['adapter_model.safetensors']);
	});

	it('a second publish to your own repo needs "existing" and gives a new commit', async () => {
		await publishFiles(request({ repo: 'alice/again' }));
		await expect(publishFiles(request({ repo: 'alice/again' }))).rejects.toMatchObject({
			code: 'taken'
		});
		const second = await publishFiles(
			request({
				repo: 'alice/again',
				allowExisting: true,
				files: [{ path: 'README.md', content: blob('# v2\n') }]
			})
		);
		expect(second.created).toBe(false);
		const files = hub.files('alice/again')!;
		expect(new TextDecoder().decode(files.get('README.md'))).toBe('# v2\n');
		expect(files.has('adapter_model.safetensors')).toBe(true); // earlier files stay
	});

	it('publishes a dataset repo under an org the user belongs to', async () => {
		const result = await publishFiles(
			request({
				repo: 'class-7/socrates-dialogues',
				type: 'dataset',
				files: [{ path: 'data/train.jsonl', content: blob('{"messages":[]}\n') }]
			})
		);
		expect(result.url).toBe(`${hub.url}/datasets/class-7/socrates-dialogues`);
		expect(
			hub.files('class-7/socrates-dialogues', { type: 'dataset' })?.has('data/train.jsonl')
		).toBe(true);
	});

	it("names the errors: bad token (401), someone else's namespace (403), offline", async () => {
		const err = (p: Promise<unknown>) =>
			p.then(
				() => null,
				(e) => e as HubPublishError
			);
		expect(
			await err(publishFiles(request({ accessToken: 'hf_wrong', repo: 'alice/x' })))
		).toMatchObject({ code: 'badToken', status: 401 });
		expect(
			await err(publishFiles(request({ repo: 'bob/taken', allowExisting: true })))
		).toMatchObject({
			code: 'forbidden',
			status: 403
		});
		expect(await err(publishFiles(request({ repo: 'bob/new-one' })))).toMatchObject({
			code: 'forbidden'
		});
		expect(await err(publishFiles(request({ repo: 'not a repo' })))).toMatchObject({
			code: 'invalidName'
		});
		const closed = await startHubStandin();
		await closed.close();
		expect(
			await err(publishFiles(request({ hubUrl: closed.url, repo: 'alice/off' })))
		).toMatchObject({
			code: 'offline'
		});
	});
});

describe('model card', () => {
	it('writes the front matter the Hub reads, with quoted scalars', () => {
		const card = adapterModelCard({
			repo: 'alice/socrates-lora',
			baseModel: 'mlc-ai/gemma-2-2b-jpn-it-q4f16_1-MLC',
			name: 'Socrates: "v1"',
			character: 'Socrates',
			languages: ['en'],
			license: 'apache-2.0',
			r: 8,
			loraAlpha: 16,
			targetModules: ['q_proj', 'v_proj'],
			trainingArgs: { learning_rate: 0.0002, num_train_epochs: 3 },
			lossImage: 'loss.png',
			finalLoss: 1.23456,
			steps: 30
		});
		expect(
			card.startsWith('---\nbase_model: "google/gemma-2-2b-jpn-it"\nlibrary_name: "peft"\n')
		).toBe(true);
		expect(card).toContain('tags:\n  - "peft"\n  - "lora"\n  - "mondo-studio"\n  - "socrates"\n');
		expect(card).toContain('pipeline_tag: "text-generation"');
		expect(card).toContain('language:\n  - "en"');
		expect(card).toContain('license: "apache-2.0"');
		expect(card).toContain('![Training loss per step](loss.png)');
		expect(card).toContain('| learning_rate | 0.0002 |');
		expect(hubBaseModelOf('google/gemma-2-2b-it')).toBe('google/gemma-2-2b-it');
	});

	it('nests lists of objects (dataset configs)', () => {
		expect(
			frontMatter({
				configs: [{ config_name: 'default', data_files: [{ split: 'train', path: 'a' }] }]
			})
		).toBe(
			'---\nconfigs:\n  - config_name: "default"\n    data_files:\n      - split: "train"\n        path: "a"\n---\n'
		);
	});
});
