"""Fine-tune a Bradley-Terry reward model: a base LM with a scalar head and LoRA adapters (TRL + PEFT).

Pairs arrive tokenized (by the same chat-template encoding the scorer uses), so training and scoring see
the very same tokens. The adapter (LoRA weights + the head) is saved with the tokenizer; `merged=True`
also saves a plain classification checkpoint that any backend, vLLM included, can load.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from benchmark.config import Section
from benchmark.models.packaged import resolve_model

LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LoraRecipe(Section):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    target_modules: list[str] = LLAMA_LINEAR
    top_layers: int | None = Field(6, ge=1, description="adapt only the top N layers (null: all); fewer is faster")
    learning_rate: float = Field(1e-3, gt=0)
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(8, ge=1, description="pairs per optimizer step, with grad_accumulation")
    grad_accumulation: int = Field(1, ge=1)
    warmup: float = Field(0.1, ge=0, lt=1)
    center_rewards: float | None = Field(None, ge=0, description="TRL center_rewards_coefficient")
    gradient_checkpointing: bool = False  # saves GPU memory on large models; slower
    seed: int = 0


def _layer_count(model) -> int:
    return int(model.config.get_text_config().num_hidden_layers)


def train_bt_reward(base: str, rows: Sequence[dict], recipe: LoraRecipe, out_dir: Path, dtype: str,
                    device: str, merged: bool = False) -> tuple[object, object, dict]:
    """Train on rows of `chosen_ids` / `rejected_ids`; returns (trained model, tokenizer, train metrics)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    path = resolve_model(base)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(recipe.seed)  # the head starts random
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=getattr(torch, dtype))
    model.config.pad_token_id = tokenizer.pad_token_id
    n_layers = _layer_count(model)
    layers = list(range(n_layers - min(recipe.top_layers, n_layers), n_layers)) if recipe.top_layers else None
    lora = LoraConfig(task_type="SEQ_CLS", r=recipe.r, lora_alpha=recipe.alpha, lora_dropout=recipe.dropout,
                      target_modules=list(recipe.target_modules), layers_to_transform=layers)
    args = RewardConfig(
        output_dir=str(out_dir / "trainer"), per_device_train_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.grad_accumulation, num_train_epochs=recipe.epochs,
        learning_rate=recipe.learning_rate, lr_scheduler_type="linear", warmup_steps=recipe.warmup,
        center_rewards_coefficient=recipe.center_rewards, gradient_checkpointing=recipe.gradient_checkpointing,
        max_length=None, seed=recipe.seed, save_strategy="no", report_to=[], logging_steps=10,
        use_cpu=device == "cpu", dataloader_num_workers=0, disable_tqdm=False,
        bf16=dtype == "bfloat16", fp16=dtype == "float16")  # TRL defaults to bf16 autocast: the model's dtype decides
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(list(rows)),
                            processing_class=tokenizer, peft_config=lora)
    result = trainer.train()
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False).eval()  # no autocast wrapper
    adapter = out_dir / "adapter"
    model.save_pretrained(adapter)
    tokenizer.save_pretrained(adapter)
    config = adapter / "adapter_config.json"  # name the base as configured (a short name or hub id), not a path
    config.write_text(json.dumps({**json.loads(config.read_text()), "base_model_name_or_path": base}, indent=2))
    if merged:
        save_merged(model, tokenizer, out_dir / "merged")
    logs = [entry for entry in trainer.state.log_history if "accuracy" in entry]
    metrics = {"train_loss": float(result.training_loss), "steps": int(result.global_step),
               "last_logged_accuracy": logs[-1]["accuracy"] if logs else None}
    return model, tokenizer, metrics


def save_merged(model, tokenizer, folder: Path) -> None:
    """The adapter merged into a copy of the base: a plain sequence-classification checkpoint."""
    import copy

    plain = copy.deepcopy(model).merge_and_unload()
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
