import { describe, expect, it } from 'vitest';
import { adapterTensors, createLoraAdapter, type LoraAdapter } from '../../src/lib/lora/adapter';
import {
	LORA_DEFAULTS,
	TRAINING_DEFAULTS,
	type TrainingArguments
} from '../../src/lib/lora/config';
import type { TrainingExample } from '../../src/lib/lora/examples';
import { GpuLoraAdapter } from '../../src/lib/training/gpu-adapter';
import {
	epochOrder,
	LoraTrainer,
	type EvalReport,
	type StepReport,
	type TrainerState
} from '../../src/lib/training/trainer';
import { learningRateAt, trainingPlan } from '../../src/lib/lora/schedule';
import { adamwStep, clipGradNorm, createAdamWState } from '../../src/lib/reference/adamw';
import {
	referenceAccumulatedLossAndGrads,
	referenceLossAndGrads
} from '../../src/lib/reference/backward';
import { randomWeights, seededRandom, TINY_CONFIG } from '../../src/lib/reference/random-model';
import { Gemma2Backward } from '../../src/lib/webgpu/gemma2/backward';
import { Gemma2Engine } from '../../src/lib/webgpu/gemma2/forward';
import type { Gemma2Weights } from '../../src/lib/model/weights';
import { relErr, testDevice } from './harness';

/** Trainer on the tiny model: real forward, backward, LoRA kernels and AdamW on the GPU. */
async function setup(w: Gemma2Weights, adapter: LoraAdapter, maxTokens: number) {
	const { device, memory } = await testDevice();
	const engine = await Gemma2Engine.create(device, w, { maxTokens, memory });
	const lora = new GpuLoraAdapter(device, memory, adapter, { trainable: true, maxTokens });
	engine.lora = lora;
	const backward = new Gemma2Backward(engine, lora);
	return {
		device,
		memory,
		lora,
		backward,
		destroy() {
			backward.destroy();
			lora.destroy();
			engine.destroy();
			memory.freeAll();
		}
	};
}

function example(prompt: number[], reply: number[]): TrainingExample {
	const ids = [2, 106, ...prompt, 107, 108, 106, ...reply, 107];
	const start = ids.length - reply.length - 1;
	return { input_ids: ids, labels: ids.map((t, i) => (i >= start ? t : -100)) };
}

/** Five short examples of different lengths (steps group them by batch size and accumulation). */
const train = [
	example([300, 301], [400, 401, 402]),
	example([310], [410, 411]),
	example([320, 321, 322], [420]),
	example([330], [430, 431, 432, 433]),
	example([340, 341], [440, 441])
];

/** What every trainer of these tests gets: the tiny model's GPU parts, arguments and examples. */
function trainerOptions(env: Awaited<ReturnType<typeof setup>>, a: TrainingArguments) {
	return { device: env.device, backward: env.backward, adapter: env.lora, args: a, train };
}

function args(over: Partial<TrainingArguments>): TrainingArguments {
	return { ...TRAINING_DEFAULTS, lr_scheduler_kwargs: {}, ...over };
}

describe('LoraTrainer', () => {
	it('overfits a fixed reply: loss falls by more than 90% (r = 4, ≤ 60 steps)', async () => {
		// final softcap 30 as Gemma's (the tiny config's 3.0 would floor the loss near 0.8)
		const c = { ...TINY_CONFIG, finalSoftcap: 30 };
		const w = randomWeights(c, 31, 'f32');
		const adapter = createLoraAdapter(
			c,
			{ ...LORA_DEFAULTS, r: 4, lora_alpha: 8, target_modules: 'all-linear' },
			1
		);
		const env = await setup(w, adapter, 16);
		const reports: StepReport[] = [];
		const trainer = new LoraTrainer({
			device: env.device,
			backward: env.backward,
			adapter: env.lora,
			args: args({
				learning_rate: 2e-2,
				max_steps: 60,
				per_device_train_batch_size: 1,
				lr_scheduler_type: 'constant',
				max_grad_norm: 1
			}),
			train: [example([300, 301, 302], [400, 401, 402, 403, 404])],
			onStep: (r) => {
				reports.push(r);
				// stop once the goal is met (the flag is checked between optimizer steps)
				if (r.loss < 0.05 * reports[0].loss) trainer.stop();
			}
		});
		try {
			await trainer.run();
			const fall = 1 - reports.at(-1)!.loss / reports[0].loss;
			console.log(
				`overfit: ${reports[0].loss.toFixed(3)} → ${reports.at(-1)!.loss.toFixed(3)} in ${reports.length} steps`
			);
			expect(fall).toBeGreaterThan(0.9);
			expect(reports.at(-1)!.gradNorm).toBeGreaterThan(0);
			expect(reports[0].learningRate).toBe(2e-2);
			expect(reports[0].tokensPerSecond).toBeGreaterThan(0);
		} finally {
			trainer.destroy();
			env.destroy();
		}
	});

	it('matches a CPU run (reference grads + torch AdamW) over 4 steps: shuffle, accumulation, clipping, decay, eval, resume', async () => {
		const c = TINY_CONFIG;
		const w = randomWeights(c, 41, 'f32');
		const init = createLoraAdapter(
			c,
			{ ...LORA_DEFAULTS, r: 3, lora_alpha: 6, target_modules: ['q_proj', 'o_proj', 'up_proj'] },
			2
		);
		const rnd = seededRandom(5);
		for (const m of init.modules.values())
			for (let i = 0; i < m.B.length; i++) m.B[i] = Math.fround((rnd() * 2 - 1) * 0.2);
		const evalSet = [example([350], [450, 451])];
		const a = args({
			learning_rate: 3e-3,
			num_train_epochs: 2, // 3 batches per epoch → 2 updates per epoch → 4 steps
			per_device_train_batch_size: 2,
			gradient_accumulation_steps: 2,
			lr_scheduler_type: 'cosine',
			warmup_steps: 1,
			weight_decay: 0.06,
			max_grad_norm: 0.05, // active on most steps
			adam_epsilon: 1e-4,
			seed: 7,
			eval_strategy: 'steps',
			eval_steps: 2,
			save_strategy: 'steps',
			save_steps: 2
		});
		const plan = trainingPlan(a, train.length);
		expect(plan.totalSteps).toBe(4);

		// CPU: the same step groups the trainer makes
		const ref = structuredClone(init);
		const params = adapterTensors(ref);
		const state = createAdamWState(params);
		const refLoss: number[] = [];
		const refEval: number[] = [];
		let step = 0;
		for (let epoch = 0; epoch < 2; epoch++) {
			const order = epochOrder(train.length, a.seed, epoch, true);
			const groups = [order.slice(0, 4), order.slice(4)];
			for (const g of groups) {
				const r = referenceAccumulatedLossAndGrads(
					w,
					ref,
					g.map((i) => ({ ids: train[i].input_ids, labels: train[i].labels }))
				);
				refLoss.push(r.loss);
				clipGradNorm(r.grads, a.max_grad_norm);
				adamwStep(params, r.grads, state, {
					lr: learningRateAt(a, step, 4),
					beta1: 0.9,
					beta2: 0.999,
					eps: 1e-4,
					weightDecay: 0.06
				});
				step++;
				if (step % 2 === 0)
					refEval.push(
						referenceLossAndGrads(w, ref, evalSet[0].input_ids, evalSet[0].labels, {
							lossOnly: true
						}).loss
					);
			}
		}

		// GPU: 2 steps, a checkpoint, then a fresh trainer resumes from it for the other 2
		const env = await setup(w, init, 16);
		const steps: StepReport[] = [];
		const evals: EvalReport[] = [];
		const opts = {
			...trainerOptions(env, a),
			eval: evalSet,
			onStep: (r: StepReport) => {
				steps.push(r);
				if (r.step === 2) first.stop();
			},
			onEval: (r: EvalReport) => evals.push(r),
			onSave: async (st: TrainerState) => void saves.push(st.step)
		};
		const saves: number[] = [];
		const first = new LoraTrainer(opts);
		try {
			expect(await first.run()).toBe(2);
			const checkpoint = structuredClone(await first.state());
			first.destroy();
			env.lora.upload(createLoraAdapter(c, init.config, 99)); // clobber: resume must restore it
			const second = new LoraTrainer({ ...opts, resume: checkpoint, onStep: (r) => steps.push(r) });
			expect(await second.run()).toBe(4);
			expect(second.finished).toBe(true);
			second.destroy();

			expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
			for (let i = 0; i < 4; i++)
				expect(Math.abs(steps[i].loss - refLoss[i]) / refLoss[i]).toBeLessThan(1e-4);
			expect(evals.map((e) => e.step)).toEqual([2, 4]);
			expect(evals[0].isBest).toBe(true);
			expect(saves).toEqual([2, 4]);
			for (let i = 0; i < 2; i++)
				expect(Math.abs(evals[i].evalLoss - refEval[i]) / refEval[i]).toBeLessThan(1e-4);
			const got = await env.lora.download();
			for (const [name, m] of ref.modules) {
				const g = got.modules.get(name)!;
				const i0 = init.modules.get(name)!;
				const delta = (x: Float32Array, y: Float32Array) => Array.from(x, (v, i) => v - y[i]);
				expect(relErr(delta(g.A, i0.A), delta(m.A, i0.A)), `${name} A`).toBeLessThan(1e-3);
				expect(relErr(delta(g.B, i0.B), delta(m.B, i0.B)), `${name} B`).toBeLessThan(1e-3);
			}
		} finally {
			env.destroy();
		}
	});

	it('a pause between the examples of an accumulated step resumes exactly (gradients and loss kept in the state)', async () => {
		const c = TINY_CONFIG;
		const w = randomWeights(c, 43, 'f32');
		const init = createLoraAdapter(
			c,
			{
				...LORA_DEFAULTS,
				r: 2,
				lora_alpha: 4,
				lora_dropout: 0.1,
				target_modules: ['q_proj', 'down_proj']
			},
			3
		);
		// 5 micro-batches of 1, 4 per step → steps of 4 and 1 examples
		const a = args({
			learning_rate: 1e-2,
			num_train_epochs: 1,
			per_device_train_batch_size: 1,
			gradient_accumulation_steps: 4,
			seed: 3
		});
		const env = await setup(w, init, 16);
		try {
			const run = async (pauseAfter: number | null) => {
				env.lora.upload(init);
				const losses: number[] = [];
				const opts = {
					...trainerOptions(env, a),
					onStep: (r: StepReport) => losses.push(r.loss)
				};
				let trainer = new LoraTrainer(opts);
				let examplesRun = 0;
				let state: TrainerState | null = null;
				if (pauseAfter !== null) {
					const lossAndGrads = env.backward.lossAndGrads.bind(env.backward);
					env.backward.lossAndGrads = async (...x) => {
						if (++examplesRun === pauseAfter) trainer.stop();
						return lossAndGrads(...x);
					};
					expect(await trainer.run()).toBe(0); // paused inside step 1
					env.backward.lossAndGrads = lossAndGrads;
					state = structuredClone(await trainer.state());
					trainer.destroy();
					// clobber what the GPU holds: the resume must restore parameters and gradients
					env.lora.upload(createLoraAdapter(c, init.config, 99));
					const enc = env.device.createCommandEncoder();
					env.lora.zeroGrads(enc);
					env.device.queue.submit([enc.finish()]);
					trainer = new LoraTrainer({ ...opts, resume: state });
				}
				// a stop asked for before run() (a pause pressed while the run is prepared) is kept
				trainer.stop();
				expect(await trainer.run()).toBe(0);
				expect(await trainer.run()).toBe(2);
				trainer.destroy();
				return { losses, adapter: await env.lora.download(), state };
			};
			const whole = await run(null);
			const paused = await run(2);
			expect(paused.state!.step).toBe(0);
			expect(paused.state!.partial!.examplesDone).toBe(2);
			expect(paused.state!.partial!.grads.size).toBe(2 * init.modules.size);
			expect(paused.losses).toEqual(whole.losses);
			for (const [name, m] of whole.adapter.modules) {
				const p = paused.adapter.modules.get(name)!;
				expect([...p.A], `${name} A`).toEqual([...m.A]);
				expect([...p.B], `${name} B`).toEqual([...m.B]);
			}
		} finally {
			env.destroy();
		}
	});
});
