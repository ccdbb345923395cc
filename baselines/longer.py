"""Length heuristic: always prefer the longer response (a sanity floor every method should beat)."""

from collections.abc import Sequence

from benchmark.config import Section
from benchmark.methods import Method, State
from benchmark.records import JudgeItem, Judgment


class PreferLonger(Method):
    model_label = "none"

    class Params(Section):
        shorter: bool = False  # prefer the shorter one instead

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        judgments = []
        for item in items:
            gap = len(item.first) - len(item.second)
            if self.params.shorter:
                gap = -gap
            preferred = "first" if gap > 0 else "second" if gap < 0 else "tie"
            judgments.append(Judgment(preferred))
        return judgments
