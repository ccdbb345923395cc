"""Replay: score the judge outputs stored in the published PersonalRewardBench sets, no model needed.

`method.params.judge` names the judge (the `<m>` of the `prediction_<m>` columns), e.g.
meta-llama/Llama-3.3-70B-Instruct. A stored pick that is empty or unreadable is a counted failure; a judge
that is not in the data at all is an error that lists the judges that are.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.config import Section
from benchmark.data.stored_judges import text_digest
from benchmark.errors import ConfigError
from benchmark.methods import Method, State, UserData
from benchmark.records import JudgeItem, Judgment


class ReplayStoredJudge(Method):
    item_meta = ("stored_picks",)

    class Params(Section):
        judge: str

    @property
    def model_label(self) -> str:
        return self.params.judge

    def _check_judge(self, stored: Sequence[dict]) -> None:
        """Every row of a published set has columns for every judge: one without ours means a wrong name."""
        missing = [picks for picks in stored if self.params.judge not in picks]
        if missing:
            names = sorted({name for picks in stored for name in picks})
            known = f"judges in the data: {', '.join(names)}" if names else \
                "the data holds no stored judge predictions (prediction_<judge> and flip columns)"
            raise ConfigError(f"config method.params.judge: no stored predictions for {self.params.judge!r} "
                              f"({known})")

    def setup(self, users: Sequence[UserData]) -> State:
        self._check_judge([p.meta.get("stored_picks", {}) for u in users for p in u.known])
        return {}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        self._check_judge([item.extras.get("stored_picks", {}) for item in items])
        judgments = []
        for item in items:
            picks = item.extras["stored_picks"][self.params.judge]
            pick = picks.get(text_digest(item.first), "fail")
            judgments.append(Judgment(pick, raw=f"stored pick: {pick}"))
        return judgments
