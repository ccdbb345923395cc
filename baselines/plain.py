"""Plain LLM judge: no information about the user. `mode` picks how the verdict is read (see judging.py)."""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.methods import Method, State
from benchmark.records import JudgeItem, Judgment
from benchmark.toolkit.judging import JudgeParams, run_judge


class PlainJudge(Method):
    Params = JudgeParams

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        return run_judge(self.models.chat(), items, [None] * len(items), self.params)
