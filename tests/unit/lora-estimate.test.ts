import { describe, expect, it } from 'vitest';
import { CHARS_PER_TOKEN, estimateTraining } from '../../src/lib/lora/estimate';
import { LORA_DEFAULTS, TRAINING_DEFAULTS } from '../../src/lib/lora/config';
import { TINY_CONFIG } from '../../src/lib/reference/random-model';

const example = (chars: number) => ({
	messages: [{ content: 'x'.repeat(chars) }, { content: '' }]
});

describe('training estimate', () => {
	const base = {
		config: TINY_CONFIG,
		training: { ...TRAINING_DEFAULTS, per_device_train_batch_size: 1, num_train_epochs: 2 },
		lora: { ...LORA_DEFAULTS, r: 2, target_modules: ['q_proj'] },
		examples: [example(30), example(90), example(0)],
		weightsBytes: 1000,
		engineActivationBytes: 500
	};

	it('counts LoRA parameters per adapted module: r·(in + out) over every layer', () => {
		// q_proj of the tiny model: in = hidden 64, out = heads 4 × head_dim 32 = 128; 3 layers
		expect(estimateTraining(base).loraParams).toBe(3 * 2 * (64 + 128));
	});

	it('steps follow the Trainer plan and tokens every epoch of every example', () => {
		const e = estimateTraining(base);
		expect(e.steps).toBe(6); // 3 examples, batch 1, no accumulation, 2 epochs
		expect(e.epochs).toBe(2);
		// one rule: (characters + 32 per turn of template) / CHARS_PER_TOKEN, rounded up per example
		const perExample = [30, 90, 0].map((c) => Math.ceil((c + 64) / CHARS_PER_TOKEN));
		expect(e.tokens).toBe(2 * perExample.reduce((a, b) => a + b));
		expect(e.maxTokens).toBe(Math.max(...perExample));
	});

	it('memory holds the weights, the engine and twice the LoRA parameters’ bytes besides the backward', () => {
		const e = estimateTraining(base);
		expect(e.gpuBytes).toBeGreaterThan(1500 + 16 * e.loraParams);
	});

	it('a target the model does not have is refused as the run would refuse it', () => {
		expect(() =>
			estimateTraining({ ...base, lora: { ...base.lora, target_modules: ['lm_head'] } })
		).toThrow(/matches no module|cannot adapt/);
	});
});
