"""Persona-prompted judge: the plain judge told about the user (the `## About this user` section).

Variants:
- `demographics`: the user's survey profile (PRISM); a dataset without profiles is an error.
- `stated`: the user's own stated preferences / self-description.
- `memory`: k of the user's training pairs shown as past choices, picked `recent` (latest in the data),
  `random` (seeded) or `similar` (closest prompts to the test prompt, by MiniLM embeddings).
- `oracle`: the demo benchmark's ground-truth persona; refuses any dataset without one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from benchmark.errors import DataError
from benchmark.judging import JudgeParams, clip, run_judge
from benchmark.methods import Method, State, UserData, register_method
from benchmark.records import JudgeItem, Judgment

NEEDS = {"demographics": "survey demographics (e.g. data=prism_raw)", "stated": "stated preferences",
         "oracle": "a ground-truth persona (only the demo benchmark has one)"}


def render_demographics(demographics: dict) -> str:
    return "\n".join(f"- {k.replace('_', ' ')}: {v}" for k, v in sorted(demographics.items()))


def render_memory(pairs: Sequence[dict], max_chars: int) -> str:
    blocks = [f"{i}. Request: {clip(p['prompt'], max_chars)}\n   Preferred: {clip(p['chosen'], max_chars)}\n"
              f"   Over: {clip(p['rejected'], max_chars)}" for i, p in enumerate(pairs, 1)]
    return "Past choices of this user:\n" + "\n".join(blocks)


@register_method("persona")
class PersonaJudge(Method):
    class Params(JudgeParams):
        variant: Literal["demographics", "stated", "memory", "oracle"]
        k: int = Field(4, ge=1)
        selection: Literal["recent", "random", "similar"] = "recent"
        memory_chars: int = Field(600, ge=50)  # per response shown in a past choice
        seed: int = 0

    @property
    def reads_oracle(self) -> bool:
        return self.params.variant == "oracle"

    def fit(self, user: UserData) -> State:
        variant, profile = self.params.variant, user.profile
        if variant == "memory":
            pool = [{"prompt": p.context[-1].content, "chosen": p.chosen, "rejected": p.rejected,
                     "order": p.meta.get("tstamp", p.meta.get("row", 0))} for p in user.train + user.val]
            if self.params.selection == "recent":
                pool = sorted(pool, key=lambda p: p["order"])[-self.params.k:]
            elif self.params.selection == "random":
                pool = random.Random(f"{self.params.seed}:{user.user_id}").sample(pool, min(self.params.k, len(pool)))
            return {"memory": pool}
        text = {"demographics": render_demographics(profile.demographics) if profile.demographics else None,
                "stated": profile.stated, "oracle": profile.persona_truth}[variant]
        if not text:
            raise DataError(f"method persona ({variant}) needs {NEEDS[variant]}, and user {user.user_id!r} has "
                            f"none; use another persona variant or dataset")
        return {"about_user": text}

    def _about(self, items: Sequence[JudgeItem], state: State) -> list[str]:
        if "about_user" in state:
            return [state["about_user"]] * len(items)
        memory = state["memory"]
        if self.params.selection != "similar" or len(memory) <= self.params.k:
            return [render_memory(memory, self.params.memory_chars)] * len(items)
        embedder = self.models.embedder()
        past = embedder.encode([m["prompt"] for m in memory])
        now = embedder.encode([i.context[-1].content for i in items])  # the context ends with the user turn
        picks = np.argsort(-(now @ past.T), axis=1, kind="stable")[:, : self.params.k]
        return [render_memory([memory[j] for j in sorted(row)], self.params.memory_chars) for row in picks]

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        return run_judge(self.models.chat(), items, self._about(items, state), self.params)
