import { describe, expect, it } from 'vitest';
import { parseTrainingConfig } from '../../src/lib/lora/config';
import {
	hfTrainerState,
	pythonFloat,
	trainerStateJson,
	type RecordedMetric
} from '../../src/lib/lora/trainer-state';

const args = (json: Record<string, unknown>) => parseTrainingConfig(json).training;

/** Steps 1..n with loss = step, grad_norm = 10·step, lr = step/1000, epoch = step/4. */
function steps(n: number): RecordedMetric[] {
	return Array.from({ length: n }, (_, i) => ({
		step: i + 1,
		epoch: (i + 1) / 4,
		loss: i + 1,
		gradNorm: 10 * (i + 1),
		learningRate: (i + 1) / 1000
	}));
}

describe('trainer_state.json (the HF Trainer log_history)', () => {
	it('logs every logging_steps the mean loss since the last log, that step’s grad_norm, lr and epoch', () => {
		// 8 examples, batch 1, 7 steps: max_steps 7 → logs at 3 and 6; the run is complete
		const s = hfTrainerState({
			args: args({ per_device_train_batch_size: 1, max_steps: 7, logging_steps: 3 }),
			numExamples: 8,
			metrics: steps(7)
		});
		expect(s.log_history.slice(0, 2)).toEqual([
			{ loss: 2, grad_norm: 30, learning_rate: 0.003, epoch: 0.75, step: 3 },
			{ loss: 5, grad_norm: 60, learning_rate: 0.006, epoch: 1.5, step: 6 }
		]);
		// the final entry: train_loss = mean of all 7 step losses
		expect(s.log_history[2]).toEqual({ total_flos: 0, train_loss: 4, epoch: 1.75, step: 7 });
		expect(s).toMatchObject({
			global_step: 7,
			max_steps: 7,
			logging_steps: 3,
			num_train_epochs: 1,
			train_batch_size: 1,
			epoch: 1.75,
			best_metric: null,
			best_model_checkpoint: null
		});
	});

	it('an unfinished run has no final entry; a ratio logging_steps is of max_steps, rounded up', () => {
		const s = hfTrainerState({
			args: args({ per_device_train_batch_size: 2, num_train_epochs: 2, logging_steps: 0.25 }),
			numExamples: 10, // 5 batches per epoch → 10 steps; 0.25 → every 3
			metrics: steps(4)
		});
		expect(s.max_steps).toBe(10);
		expect(s.logging_steps).toBe(3);
		expect(s.log_history).toEqual([
			{ loss: 2, grad_norm: 30, learning_rate: 0.003, epoch: 0.75, step: 3 }
		]);
		expect(s.global_step).toBe(4);
	});

	it('evaluations follow the step’s log entry; the best eval_loss names its checkpoint', () => {
		const metrics: RecordedMetric[] = [];
		for (const m of steps(4)) {
			metrics.push(m);
			if (m.step % 2 === 0)
				metrics.push({
					step: m.step,
					epoch: m.epoch,
					evalLoss: m.step === 2 ? 0.5 : 0.7,
					scores: { style: 3 }
				});
		}
		const s = hfTrainerState({
			args: args({
				per_device_train_batch_size: 1,
				max_steps: 4,
				logging_steps: 2,
				eval_strategy: 'steps',
				save_steps: 2,
				load_best_model_at_end: true
			}),
			numExamples: 4,
			metrics,
			outputDir: 'out',
			runtimeSeconds: 8
		});
		expect(s.log_history.map((e) => Object.keys(e).sort().join(','))).toEqual([
			'epoch,grad_norm,learning_rate,loss,step',
			'epoch,eval_loss,eval_style,step',
			'epoch,grad_norm,learning_rate,loss,step',
			'epoch,eval_loss,eval_style,step',
			'epoch,step,total_flos,train_loss,train_runtime,train_samples_per_second,train_steps_per_second'
		]);
		expect(s.log_history[1]).toEqual({ eval_loss: 0.5, eval_style: 3, epoch: 0.5, step: 2 });
		expect(s.log_history[4]).toMatchObject({
			train_runtime: 8,
			train_samples_per_second: 0.5,
			train_steps_per_second: 0.5
		});
		expect(s.eval_steps).toBe(2); // eval_steps null → logging_steps, as TrainingArguments does
		expect(s).toMatchObject({
			best_metric: 0.5,
			best_global_step: 2,
			best_model_checkpoint: 'out/checkpoint-2'
		});
	});

	it('greater_is_better follows the metric name (a score: higher is better)', () => {
		const metrics: RecordedMetric[] = [
			...steps(2),
			{ step: 2, epoch: 0.5, evalLoss: 1, scores: { combined_score: 2 } },
			{ step: 3, epoch: 0.75, loss: 1 },
			{ step: 3, epoch: 0.75, evalLoss: 2, scores: { combined_score: 3 } }
		];
		const s = hfTrainerState({
			args: args({
				per_device_train_batch_size: 1,
				max_steps: 3,
				metric_for_best_model: 'combined_score',
				save_strategy: 'best'
			}),
			numExamples: 4,
			metrics
		});
		expect(s).toMatchObject({ best_metric: 3, best_global_step: 3 });
	});
});

describe('the file text', () => {
	it('writes numbers as Python’s repr(float) does', () => {
		// Python: repr(2.0), repr(1e-05), repr(0.0001), repr(0.1 + 0.2), repr(1e16), repr(1.5e-07)
		expect(pythonFloat(2)).toBe('2.0');
		expect(pythonFloat(1e-5)).toBe('1e-05');
		expect(pythonFloat(0.0001)).toBe('0.0001');
		expect(pythonFloat(0.1 + 0.2)).toBe('0.30000000000000004');
		expect(pythonFloat(1e16)).toBe('1e+16');
		expect(pythonFloat(1.5e-7)).toBe('1.5e-07');
		expect(pythonFloat(123.25)).toBe('123.25');
	});

	it('sorted keys, two-space indent, floats as floats, ints as ints, a final newline', () => {
		const text = trainerStateJson(
			hfTrainerState({
				args: args({ per_device_train_batch_size: 1, max_steps: 2, logging_steps: 1 }),
				numExamples: 2,
				metrics: [{ step: 1, epoch: 0.5, loss: 2, gradNorm: 1, learningRate: 5e-5 }]
			})
		);
		expect(text.endsWith('}\n')).toBe(true);
		expect(text).toContain(
			'  "log_history": [\n    {\n      "epoch": 0.5,\n      "grad_norm": 1.0,\n      "learning_rate": 5e-05,\n      "loss": 2.0,\n      "step": 1\n    }\n  ],'
		);
		expect(text).toContain('"global_step": 1,');
		expect(text).toContain('"epoch": 0.5,\n  "eval_steps": 500,');
		const keys = Object.keys(JSON.parse(text));
		expect(keys).toEqual([...keys].sort());
		expect(keys).toEqual(
			expect.arrayContaining([
				'best_global_step',
				'best_metric',
				'best_model_checkpoint',
				'log_history',
				'max_steps',
				'num_train_epochs',
				'save_steps',
				'stateful_callbacks',
				'train_batch_size'
			])
		);
	});
});
