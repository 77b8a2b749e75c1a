import { describe, expect, it } from 'vitest';
import {
	checkArgument,
	checkArguments,
	LORA_FIELDS,
	MAX_LORA_RANK,
	outsideSafeRange,
	seedsValue,
	TRAINING_FIELDS
} from '../../src/lib/lora/argument-fields';
import { QUICK_CLASSROOM_PRESET, SEED_PRESET, type ConfigRule } from '../../src/lib/lora/config';
import type { Adapter, RunStatus } from '../../src/lib/data/types';
import { LORA_MAX_RANK } from '../../src/lib/webgpu/kernels/lora';
import { en, ja } from '../../src/lib/i18n/messages';

describe('training argument form', () => {
	it('refuses the values a new user typed, with the rule the UI words', () => {
		expect(checkArgument('learning_rate', -1)).toEqual({ rule: 'positive', params: {} });
		expect(checkArgument('learning_rate', null)?.rule).toBe('positive');
		expect(checkArgument('r', 0)).toEqual({ rule: 'positiveInteger', params: {} });
		expect(checkArgument('r', 2.5)?.rule).toBe('positiveInteger');
		expect(checkArgument('max_steps', 0)?.rule).toBe('maxSteps');
		expect(checkArgument('warmup_ratio', 1.5)).toEqual({
			rule: 'range',
			params: { min: 0, max: 1 }
		});
		expect(checkArgument('lr_scheduler_type', 'sideways')?.rule).toBe('oneOf');
		expect(checkArgument('target_modules', [])?.rule).toBe('modules');
		expect(checkArgument('r', MAX_LORA_RANK + 1)).toEqual({
			rule: 'maxRank',
			params: { max: MAX_LORA_RANK }
		});
	});

	it('accepts what the presets and the nullable fields hold', () => {
		expect(checkArgument('eval_steps', null)).toBeNull();
		expect(checkArgument('save_total_limit', null)).toBeNull();
		expect(checkArgument('max_steps', -1)).toBeNull();
		for (const p of [SEED_PRESET, QUICK_CLASSROOM_PRESET])
			expect(checkArguments(p.training, p.lora)).toEqual({});
		expect(
			Object.keys(
				checkArguments(
					{ ...SEED_PRESET.training, learning_rate: -1 },
					{ ...SEED_PRESET.lora, r: 0 }
				)
			)
		).toEqual(['learning_rate', 'r']);
	});

	it('the rank limit is the LoRA kernels’ limit', () => {
		expect(MAX_LORA_RANK).toBe(LORA_MAX_RANK);
	});

	it('every field has a one-line explanation in both languages and the seeds’ value', () => {
		for (const f of [...TRAINING_FIELDS, ...LORA_FIELDS]) {
			const key = `trainArg.${f.name}` as keyof typeof en;
			expect(en[key], f.name).toBeTruthy();
			expect(ja[key], f.name).toBeTruthy();
			expect(ja[key]).not.toBe(en[key]);
			expect(seedsValue(f), f.name).not.toBeUndefined();
		}
		expect(seedsValue(TRAINING_FIELDS.find((f) => f.name === 'learning_rate')!)).toBe(8e-5);
	});

	it('flags unusual but valid values without refusing them', () => {
		const lr = TRAINING_FIELDS.find((f) => f.name === 'learning_rate')!;
		expect(outsideSafeRange(lr, 0.01)).toBe(true);
		expect(checkArgument('learning_rate', 0.01)).toBeNull();
		expect(outsideSafeRange(lr, 2e-4)).toBe(false);
	});
});

describe('training words in both languages', () => {
	it('every validation rule, run status, run phase and adapter origin has its message', () => {
		const rules: Record<ConfigRule | 'maxRank', true> = {
			object: true,
			positive: true,
			positiveInteger: true,
			nonNegative: true,
			nonNegativeInteger: true,
			maxSteps: true,
			warmupSteps: true,
			interval: true,
			range: true,
			oneOf: true,
			number: true,
			boolean: true,
			nullableBoolean: true,
			nullableString: true,
			unsupported: true,
			regex: true,
			modules: true,
			layers: true,
			bestMetric: true,
			loadBest: true,
			maxRank: true
		};
		const statuses: Record<RunStatus, true> = {
			queued: true,
			running: true,
			paused: true,
			completed: true,
			stopped: true,
			failed: true
		};
		const origins: Record<Adapter['origin'], true> = {
			trained: true,
			imported: true,
			curated: true,
			mixed: true
		};
		const keys = [
			...Object.keys(rules).map((r) => `rule.${r}`),
			...Object.keys(statuses).map((s) => `runStatus.${s}`),
			...Object.keys(origins).map((o) => `adapterOrigin.${o}`),
			...['preparing', 'training', 'evaluating', 'checkpointing', 'pausing', 'stopping'].map(
				(p) => `runPhase.${p}`
			)
		];
		for (const k of keys) {
			expect(en[k as keyof typeof en], k).toBeTruthy();
			expect(ja[k as keyof typeof ja], k).toBeTruthy();
		}
	});
});
