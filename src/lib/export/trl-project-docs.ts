/**
 * The exported TRL project's text files besides train.py: requirements.txt (the versions the
 * project was checked with), accelerate configurations (one GPU, DDP, FSDP, DeepSpeed ZeRO-3), a
 * Slurm batch script and the README with the commands and what differs from the browser run.
 */
import type { TrainingArguments } from '../lora/config';

/** The versions train.py was run with (tests/e2e/trl-parity.spec.ts, CPU). */
export const PINNED = {
	torch: '2.13.0',
	transformers: '5.18.0',
	trl: '1.13.0',
	peft: '0.21.0',
	accelerate: '1.15.0',
	datasets: '5.0.1',
	safetensors: '0.8.0'
} as const;

export const REQUIREMENTS_TXT =
	`# Checked with these versions. On a CUDA machine install torch from the index for your CUDA first
# (https://pytorch.org/get-started/locally/), then: pip install -r requirements.txt
` +
	Object.entries(PINNED)
		.map(([name, version]) => `${name}==${version}`)
		.join('\n') +
	`
# optional: DeepSpeed ZeRO-3 (accelerate/zero3.yaml) and QLoRA (--load_in_4bit true)
# deepspeed
# bitsandbytes
`;

const COMMON = `machine_rank: 0
main_training_function: main
mixed_precision: bf16
num_machines: 1
rdzv_backend: static
same_network: true
use_cpu: false
`;

/** accelerate configs, as `accelerate config` writes them (TRL's own examples, trimmed). */
export function accelerateConfigs(): Record<string, string> {
	return {
		'single_gpu.yaml': `compute_environment: LOCAL_MACHINE
distributed_type: "NO"
gpu_ids: "0"
num_processes: 1
${COMMON}`,
		'multi_gpu.yaml': `# DDP: one process per GPU; --num_processes N on the command line overrides the 8
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
gpu_ids: all
num_processes: 8
${COMMON}`,
		'fsdp.yaml': `# FSDP2 (accelerate >= 1.7): parameters, gradients and optimizer state sharded over the GPUs
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
fsdp_config:
  fsdp_version: 2
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_transformer_layer_cls_to_wrap: Gemma2DecoderLayer
  fsdp_cpu_ram_efficient_loading: true
  fsdp_offload_params: false
  fsdp_reshard_after_forward: true
  fsdp_state_dict_type: FULL_STATE_DICT
  fsdp_activation_checkpointing: false
num_processes: 8
${COMMON}`,
		'zero3.yaml': `# DeepSpeed ZeRO-3 (pip install deepspeed)
compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
deepspeed_config:
  deepspeed_multinode_launcher: standard
  offload_optimizer_device: none
  offload_param_device: none
  zero3_init_flag: true
  zero3_save_16bit_model: true
  zero_stage: 3
num_processes: 8
${COMMON}`
	};
}

/** A Slurm job: one task per node, accelerate starting one process per GPU on each. */
export function slurmScript(): string {
	return `#!/bin/bash
#SBATCH --job-name=mondo-lora
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=04:00:00
#SBATCH --output=%x-%j.out
# Submit from this folder: sbatch slurm/train.sbatch   (more nodes: sbatch --nodes=2 slurm/train.sbatch)
# Activate the environment that has requirements.txt installed, e.g.: source .venv/bin/activate
set -euo pipefail
GPUS_PER_NODE=\${SLURM_GPUS_ON_NODE:-4}
MAIN_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
srun --kill-on-bad-exit=1 bash -c "accelerate launch \\
  --config_file accelerate/multi_gpu.yaml \\
  --num_machines $SLURM_NNODES --num_processes $((SLURM_NNODES * GPUS_PER_NODE)) \\
  --machine_rank \\$SLURM_NODEID --main_process_ip $MAIN_NODE --main_process_port 29500 \\
  train.py --output_dir output $*"
`;
}

export interface ReadmeInput {
	runName?: string;
	baseModel: string;
	studioModel?: string;
	train: unknown[];
	eval: unknown[];
	training: TrainingArguments;
	/** SFTConfig and LoraConfig values as run_config.json holds them. */
	sft: Record<string, unknown>;
	peftLora: Record<string, unknown>;
}

const table = (rows: [string, unknown][]) =>
	[
		'| name | value |',
		'|---|---|',
		...rows.map(([k, v]) => `| \`${k}\` | \`${JSON.stringify(v)}\` |`)
	].join('\n');

export function projectReadme(r: ReadmeInput): string {
	const title = r.runName ? `${r.runName} — ` : '';
	const ga = r.training.gradient_accumulation_steps;
	return `# ${title}LoRA training with TRL + PEFT

A training run exported from Mondō Studio, ready to re-run on a workstation, a multi-GPU server or
a Slurm cluster with Hugging Face [TRL](https://huggingface.co/docs/trl) (\`SFTTrainer\`),
[PEFT](https://huggingface.co/docs/peft) (\`LoraConfig\`) and
[accelerate](https://huggingface.co/docs/accelerate).

- Base model: \`${r.baseModel}\`${r.studioModel ? ` (the studio ran \`${r.studioModel}\`)` : ''}
- Data: ${r.train.length} training and ${r.eval.length} evaluation conversations, exactly the ones
  the studio trains on (same prompt variant, same split)

| file | what it is |
|---|---|
| \`data/train.jsonl\`, \`data/eval.jsonl\` | one conversation per line, TRL's conversational format \`{"messages": [{"role": "user" \\| "assistant", "content": …}]}\` |
| \`run_config.json\` | the base model id and the run's \`SFTConfig\` / \`LoraConfig\` values (train.py's defaults) |
| \`train.py\` | \`SFTTrainer\` + PEFT; any \`SFTConfig\` field as \`--name value\` |
| \`requirements.txt\` | the package versions this project was checked with |
| \`accelerate/\` | \`single_gpu.yaml\`, \`multi_gpu.yaml\` (DDP), \`fsdp.yaml\` (FSDP2), \`zero3.yaml\` (DeepSpeed ZeRO-3) |
| \`slurm/train.sbatch\` | a Slurm job running the same command on every node |

## Install

\`\`\`
python -m venv .venv && source .venv/bin/activate
pip install -r requirements.txt
hf auth login            # Gemma weights are gated: accept the licence on the model page first
\`\`\`

## Run

A workstation with one GPU:

\`\`\`
accelerate launch --config_file accelerate/single_gpu.yaml train.py
\`\`\`

A multi-GPU server (DDP, one process per GPU). Each GPU takes \`per_device_train_batch_size\`
examples, so the effective batch is batch × accumulation × GPUs; to keep the studio's
(${r.training.per_device_train_batch_size} × ${ga}), divide \`gradient_accumulation_steps\` by the number of GPUs:

\`\`\`
accelerate launch --config_file accelerate/multi_gpu.yaml --num_processes 4 train.py --gradient_accumulation_steps ${Math.max(1, Math.ceil(ga / 4))}
accelerate launch --config_file accelerate/fsdp.yaml --num_processes 8 train.py
accelerate launch --config_file accelerate/zero3.yaml --num_processes 8 train.py     # pip install deepspeed
\`\`\`

A Slurm cluster (edit the \`#SBATCH\` lines for your partition; arguments go to train.py):

\`\`\`
sbatch slurm/train.sbatch
sbatch --nodes=2 slurm/train.sbatch --gradient_accumulation_steps 1
\`\`\`

TRL's own command line takes the same data folder (\`eval.jsonl\` is its "test" split) but
builds its own assistant mask from a training chat template of TRL's, so it is close to, not
exactly, the studio's run; train.py is the exact re-run:

\`\`\`
trl sft --model_name_or_path ${r.baseModel} --dataset_name data --assistant_only_loss true \\
  --use_peft --lora_r ${r.peftLora.r} --lora_alpha ${r.peftLora.lora_alpha} --lora_target_modules all-linear \\
  --attn_implementation eager --output_dir output-trl-cli
\`\`\`

A quick check on a laptop's CPU (float32, two steps):

\`\`\`
python train.py --use_cpu true --dtype float32 --max_steps 2 --output_dir output-cpu
\`\`\`

Options of train.py besides every \`SFTConfig\` field (\`python train.py --help\`):
\`--model_name_or_path ID|DIR\`, \`--init_adapter DIR\` (start from a PEFT adapter),
\`--dtype bfloat16|float32\`, \`--attn_implementation eager\` (Gemma-2's attention softcap needs
eager or flash_attention_2), \`--load_in_4bit true\` (QLoRA, needs bitsandbytes and CUDA), the
LoRA fields (\`--r\`, \`--lora_alpha\`, \`--lora_dropout\`, \`--target_modules\`, …), \`--train_file\`,
\`--eval_file\`.

## What comes out

\`output/\` holds \`adapter_config.json\` + \`adapter_model.safetensors\` (load them with
\`PeftModel.from_pretrained(model, "output")\`, or zip the two files and import the zip on the
studio's Adapters page) and \`trainer_state.json\` (\`log_history\`: loss, learning rate, grad norm,
eval loss), the same file the studio writes for its own run — compare the two curves.

## What is supervised

Exactly what the studio trains on: each conversation is rendered with Gemma's chat template and
tokenized piece by piece; every model turn's text and its \`<end_of_turn>\` carry labels, in every
turn; user turns, the \`<start_of_turn>model\\n\` headers and the newline after \`<end_of_turn>\` do
not. train.py stops with an error if the tokenizer's chat template renders a conversation
differently.

## What differs from the browser run

- **Base weights**: the studio trained on the 4-bit MLC weights it runs (q4, groups of 32, f16
  scales); here the original bf16 weights are used (\`--dtype float32\` for f32, \`--load_in_4bit true\`
  for a 4-bit NF4 QLoRA base — another 4-bit format). Losses are close, not identical.
- **Data order**: ${r.training.shuffle ? "the studio's shuffle is its own seeded permutation; here torch's sampler shuffles (`train_sampling_strategy: random`), so the order differs" : 'no shuffling on either side (`train_sampling_strategy: sequential`): the same order'}.
- **Initial adapter and dropout**: PEFT initialises A with torch's generator and draws dropout masks
  from it; the studio uses its own seeded generator. Pass \`--init_adapter\` with an adapter exported
  from the studio to start from the same weights.
- **Evaluation**: \`eval_loss\` here is the Trainer's mean over batches of each batch's mean token
  loss; the studio weights every token equally over the whole eval set.
  ${r.training.metric_for_best_model && !/^(eval_)?loss$/.test(r.training.metric_for_best_model) ? `The studio's \`${r.training.metric_for_best_model}\` comes from its LLM judge, which does not run here: the best checkpoint is chosen by \`eval_loss\`.` : ''}
- **Settings that moved**: transformers 5 has no \`warmup_ratio\` (a \`warmup_steps\` below 1 is the
  ratio); the optimizer is pinned to \`adamw_torch\` (the studio's torch AdamW); sequences are not
  truncated (\`max_length: null\`); TRL turns on gradient checkpointing by default (same numbers, less memory).

## The run's settings (run_config.json)

${table(Object.entries(r.sft))}

LoRA:

${table(Object.entries(r.peftLora))}
`;
}
