/**
 * train.py of the exported TRL project (trl-project.ts), verbatim. Kept as text so the export runs
 * anywhere (page, worker, Node) without a bundler; tests/e2e/trl-parity.spec.ts runs it.
 */
export const TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Re-run a Mondō Studio LoRA training run with Hugging Face TRL + PEFT.

    python train.py                                   # one GPU or the CPU, the run as the studio had it
    accelerate launch --config_file accelerate/multi_gpu.yaml train.py
    python train.py --use_cpu true --dtype float32 --max_steps 3   # a quick check on a laptop

The run's settings are in run_config.json ("sft": SFTConfig / TrainingArguments fields, "lora":
LoraConfig fields, "model_name_or_path"). Every SFTConfig field can be overridden on the command
line as --name value, and so can the fields of ScriptArguments and LoraArguments below.

What is supervised is exactly what the studio supervises: each conversation is rendered with
Gemma's chat template and tokenized piece by piece, as the studio does (src/lib/lora/examples.ts):

    <bos><start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n{model}<end_of_turn>\n ...

and only every model turn's "{model}<end_of_turn>" carries labels (the rest is -100), in every
turn of a multi-turn example. The labels are built here rather than with assistant_only_loss,
because Gemma's published template has no {% generation %} markers and TRL's replacement would
have to agree with the studio on whether <end_of_turn> and the "\n" after it are trained; with the
pieces written out there is nothing to agree on. The script checks that the pieces render exactly
what the tokenizer's own chat template renders.

Writes the PEFT adapter (adapter_config.json + adapter_model.safetensors) and trainer_state.json
to --output_dir.
"""
import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, HfArgumentParser
from trl import SFTConfig, SFTTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
IGNORE_INDEX = -100


def load_run_config():
    with open(os.path.join(HERE, "run_config.json"), encoding="utf-8") as f:
        return json.load(f)


RUN = load_run_config()


@dataclass
class ScriptArguments:
    model_name_or_path: str = field(
        default=RUN["model_name_or_path"],
        metadata={"help": "Hugging Face model id or a local folder (config.json + safetensors + tokenizer)."},
    )
    train_file: str = field(default=os.path.join(HERE, "data", "train.jsonl"))
    eval_file: str = field(default=os.path.join(HERE, "data", "eval.jsonl"))
    init_adapter: str | None = field(
        default=None, metadata={"help": "Start from this PEFT adapter folder (its LoraConfig wins)."}
    )
    dtype: str = field(default="bfloat16", metadata={"help": "bfloat16 or float32 (weights and autocast)."})
    attn_implementation: str = field(
        default="eager",
        metadata={"help": "eager applies Gemma-2's attention softcap (sdpa ignores it); flash_attention_2 also has it."},
    )
    load_in_4bit: bool = field(
        default=False, metadata={"help": "QLoRA: a 4-bit NF4 base (needs bitsandbytes and a CUDA GPU)."}
    )


@dataclass
class LoraArguments:
    r: int = field(default=RUN["lora"]["r"])
    lora_alpha: float = field(default=RUN["lora"]["lora_alpha"])
    lora_dropout: float = field(default=RUN["lora"]["lora_dropout"])
    target_modules: list[str] | None = field(
        default_factory=lambda: RUN["lora"]["target_modules"],
        metadata={"help": "Module names, or one regex / 'all-linear'. None: PEFT's default for the model."},
    )
    use_rslora: bool = field(default=RUN["lora"]["use_rslora"])
    layers_to_transform: list[int] | None = field(default_factory=lambda: RUN["lora"]["layers_to_transform"])
    rank_pattern: str = field(default=json.dumps(RUN["lora"]["rank_pattern"]), metadata={"help": "JSON object"})
    alpha_pattern: str = field(default=json.dumps(RUN["lora"]["alpha_pattern"]), metadata={"help": "JSON object"})

    def to_peft(self) -> LoraConfig:
        targets = self.target_modules
        # one entry that is not a plain module name is a regex (or "all-linear"), as PEFT takes a str
        if targets is not None and len(targets) == 1 and not targets[0].replace("_", "").replace(".", "").isalnum():
            targets = targets[0]
        return LoraConfig(
            r=self.r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=targets,
            use_rslora=self.use_rslora,
            layers_to_transform=self.layers_to_transform,
            rank_pattern=json.loads(self.rank_pattern),
            alpha_pattern=json.loads(self.alpha_pattern),
            bias="none",
            task_type="CAUSAL_LM",
        )


def gemma_pieces(messages):
    """(text, supervised) pieces of one conversation, exactly as the studio renders them."""
    pieces = []
    for m in messages:
        role = "model" if m["role"] == "assistant" else m["role"]
        content = m["content"].strip()
        if role == "user":
            pieces.append((f"<start_of_turn>user\n{content}<end_of_turn>\n", False))
        elif role == "model":
            pieces += [("<start_of_turn>model\n", False), (f"{content}<end_of_turn>", True), ("\n", False)]
        else:
            raise ValueError(f"unknown role {m['role']!r} (user, assistant/model)")
    return pieces


def tokenize(messages, tokenizer, line):
    pieces = gemma_pieces(messages)
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    if rendered != tokenizer.bos_token + "".join(text for text, _ in pieces):
        raise ValueError(f"line {line}: the tokenizer's chat template renders this conversation differently "
                         "from the studio's Gemma-2 template (is this a Gemma-2 tokenizer?)")
    input_ids, labels = [], []
    for i, (text, supervised) in enumerate(pieces):
        ids = tokenizer(text, add_special_tokens=(i == 0))["input_ids"]
        input_ids += ids
        labels += ids if supervised else [IGNORE_INDEX] * len(ids)
    return {"input_ids": input_ids, "labels": labels}


def load_examples(path, tokenizer):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line, text in enumerate(f, start=1):
            if text.strip():
                rows.append(tokenize(json.loads(text)["messages"], tokenizer, f"{path}:{line}"))
    return rows


def parse_args(argv):
    parser = HfArgumentParser((ScriptArguments, LoraArguments, SFTConfig))
    script, _ = HfArgumentParser(ScriptArguments).parse_args_into_dataclasses(argv, return_remaining_strings=True)
    sft_fields = {f.name for f in dataclasses.fields(SFTConfig)}
    defaults = {k: v for k, v in RUN["sft"].items() if k in sft_fields}
    # bf16 autocast follows --dtype unless given
    defaults["bf16"] = script.dtype == "bfloat16"
    parser.set_defaults(**defaults)
    return parser.parse_args_into_dataclasses(argv)


def main(argv):
    script, lora_args, args = parse_args(argv)
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[script.dtype]
    tokenizer = AutoTokenizer.from_pretrained(script.model_name_or_path)
    model_kwargs = {"dtype": dtype, "attn_implementation": script.attn_implementation}
    if script.load_in_4bit:
        from transformers import BitsAndBytesConfig

        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype
        )
    model = AutoModelForCausalLM.from_pretrained(script.model_name_or_path, **model_kwargs)
    model.config.use_cache = False
    if script.init_adapter:
        model = PeftModel.from_pretrained(model, script.init_adapter, is_trainable=True)
    else:
        model = get_peft_model(model, lora_args.to_peft())
    if args.gradient_checkpointing:
        model.enable_input_require_grads()

    train = load_examples(script.train_file, tokenizer)
    evals = load_examples(script.eval_file, tokenizer)
    if not train:
        raise SystemExit(f"{script.train_file}: no training examples")
    if not evals:
        args.eval_strategy = "no"
        args.load_best_model_at_end = False
    print(f"{len(train)} training and {len(evals)} evaluation examples; "
          f"{sum(sum(1 for x in e['labels'][1:] if x != IGNORE_INDEX) for e in train)} supervised training tokens")

    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(evals) if evals else None,
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(args.output_dir)
    trainer.save_state()
    print(f"adapter and trainer_state.json → {args.output_dir}")


if __name__ == "__main__":
    main(sys.argv[1:])
`;
