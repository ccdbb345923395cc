"""Replay: score the judge outputs stored in the published PersonalRewardBench sets, no model needed.

`method.params.judge` names the judge (the `<m>` of the `prediction_<m>` columns), e.g.
meta-llama/Llama-3.3-70B-Instruct. Items without a stored pick are counted failures.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.config import Section
from benchmark.data.stored_judges import text_digest
from benchmark.methods import Method, State, register_method
from benchmark.records import JudgeItem, Judgment


@register_method("replay")
class ReplayStoredJudge(Method):
    item_meta = ("stored_picks",)

    class Params(Section):
        judge: str

    @property
    def model_label(self) -> str:
        return self.params.judge

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        judgments = []
        for item in items:
            picks = item.extras.get("stored_picks", {}).get(self.params.judge)
            if picks is None:
                judgments.append(Judgment("fail", raw=f"no stored prediction for judge {self.params.judge!r}"))
                continue
            pick = picks.get(text_digest(item.first), "fail")
            judgments.append(Judgment(pick, raw=f"stored pick: {pick}"))
        return judgments
