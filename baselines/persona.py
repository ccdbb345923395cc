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

from benchmark.methods import Method, State, UserData
from benchmark.records import JudgeItem, Judgment
from benchmark.toolkit.judging import JudgeParams, run_judge
from benchmark.toolkit.user_context import UserContext, about_user, memory_pool, recent, render_memory


class PersonaJudge(Method):
    class Params(JudgeParams):
        variant: Literal["demographics", "stated", "memory", "oracle"]
        k: int = Field(4, ge=1)
        selection: Literal["recent", "random", "similar"] = "recent"
        memory_chars: int = Field(600, ge=50)  # clip: each text of a past choice (the paper clips nothing)
        seed: int = 0

    @property
    def reads_oracle(self) -> bool:
        return self.params.variant == "oracle"

    def fit(self, user: UserData) -> State:
        if self.params.variant != "memory":
            return {"about_user": about_user(UserContext(source=self.params.variant), user)}
        pool = memory_pool(user)
        if self.params.selection == "recent":
            pool = recent(pool, self.params.k)
        elif self.params.selection == "random":
            pool = random.Random(f"{self.params.seed}:{user.user_id}").sample(pool, min(self.params.k, len(pool)))
        return {"memory": pool}

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
