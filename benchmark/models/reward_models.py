"""Reward models: a whole conversation (context + one assistant response) in, one scalar out.

Any `AutoModelForSequenceClassification` checkpoint with one label and a chat template works (the
Skywork / ArmoRM families, or a classification checkpoint prbench trained). A folder holding a PEFT
adapter (`adapter_config.json`) loads its base model with the adapter on top.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError
from benchmark.models.base import Chat
from benchmark.models.packaged import resolve_model
from benchmark.models.tokens import encode_conversation, too_long
from benchmark.records import Cost


@dataclass
class Score:
    """The reward of one conversation; `error` says why there is none."""

    value: float | None = None
    cost: Cost = field(default_factory=Cost)
    error: str | None = None
    request_failed: bool = False  # as in ChoiceResult


class RewardModel(ABC):
    """Local reward models tokenize with the model's chat template and refuse conversations over
    `max_tokens` (a counted failure, never a truncated guess)."""

    name: str
    tokenizer: Any
    max_tokens: int
    coalesces = True  # the model layer merges concurrent callers' conversations into one call (Coalescer)

    @abstractmethod
    def score_ids(self, encoded: Sequence[list[int]]) -> list[float]:
        """Rewards of already-tokenized conversations."""

    def score(self, conversations: Sequence[Chat]) -> list[Score]:
        """One Score per conversation; each ends with the assistant response being scored."""
        encoded = [tuple(encode_conversation(self.tokenizer, c)) for c in conversations]
        unique = list(dict.fromkeys(ids for ids in encoded if len(ids) <= self.max_tokens))  # the two orders
        start = time.perf_counter()                                                # of a pair repeat them
        values = dict(zip(unique, self.score_ids([list(ids) for ids in unique]))) if unique else {}
        share = (time.perf_counter() - start) / max(len(unique), 1)
        results, charged = [], set()
        for ids in encoded:
            if ids not in values:
                results.append(Score(error=too_long(len(ids), self.max_tokens)))
                continue
            first = ids not in charged  # a repeated conversation costs nothing
            charged.add(ids)
            results.append(Score(values[ids], Cost(1, len(ids), 0, share) if first else Cost()))
        return results


def adapter_base(path: str) -> str | None:
    """The base model a PEFT adapter folder was trained on, or None if `path` is no adapter folder."""
    config = Path(path) / "adapter_config.json"
    return json.loads(config.read_text())["base_model_name_or_path"] if config.exists() else None


def fp32_head(model):
    """Run the reward head in float32: a bf16 head rounds rewards to ~0.01, which turns close pairs into ties."""
    import torch

    for name, module in model.named_modules():
        # `default`: the trained copy of the head inside a PEFT adapter (modules_to_save)
        if name.split(".")[-1] in ("score", "classifier", "default") and isinstance(module, torch.nn.Linear) \
                and module.out_features == 1:
            module.float()
            module.register_forward_pre_hook(lambda _, args: (args[0].float(), *args[1:]))
    return model


class TransformersReward(RewardModel):
    def __init__(self, name: str, model, tokenizer, batch_size: int = 8, max_tokens: int = 2048):
        """Wrap a loaded classification model (use `load` to load one by name)."""
        import torch

        self.name, self.model, self.tokenizer, self._torch = name, fp32_head(model).eval(), tokenizer, torch
        self.batch_size, self.max_tokens, self.device = batch_size, max_tokens, model.device

    @classmethod
    def load(cls, name: str, dtype: str = "float32", batch_size: int = 8, max_tokens: int = 2048,
             device: str = "cpu", revision: str | None = None) -> TransformersReward:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = resolve_model(name)
        base = adapter_base(path)
        tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            resolve_model(base) if base else path, num_labels=1, dtype=getattr(torch, dtype), revision=revision,
            output_loading_info=True)
        if base:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, path)  # unmerged: scores equal the trained model's
        elif any(key.split(".")[0] in ("score", "classifier") for key in info["missing_keys"]):
            raise ConfigError(f"model {name!r} has no trained reward head ({', '.join(info['missing_keys'])} "
                              f"missing): it is not a sequence-classification reward model; set model.name to "
                              f"one (e.g. model=skywork_llama31_8b, or a bt_reward_model run's method/merged)")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id  # the head reads the last non-pad token
        return cls(name, model.to(device), tokenizer, batch_size, max_tokens)

    def score_ids(self, encoded: Sequence[list[int]]) -> list[float]:
        """Rewards of already-tokenized conversations, in length-sorted right-padded batches."""
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        values = [0.0] * len(encoded)
        pad, t = self.tokenizer.pad_token_id, self._torch
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            width = max(len(encoded[i]) for i in batch)
            ids = t.tensor([encoded[i] + [pad] * (width - len(encoded[i])) for i in batch], device=self.device)
            mask = t.tensor([[1] * len(encoded[i]) + [0] * (width - len(encoded[i])) for i in batch],
                            device=self.device)
            with t.inference_mode():
                rewards = self.model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, 0].float().tolist()
            for i, value in zip(batch, rewards):
                values[i] = value
        return values
