"""Sequence-classification reward model: `model.name` scores context + response; the higher reward wins.

Any `AutoModelForSequenceClassification` RM with one label and a chat template (Skywork, ArmoRM, or a
checkpoint prbench trained), through `backend=transformers` or `backend=vllm` (pooling runner). With
`context.source` set, the user's description goes into the conversation first: demographics, stated
preferences, recent past choices, or the prompt a SynthesizeMe run saved (read from its run folder, so no
judge model is called). Each item records the reward margin beside the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.config import Section
from benchmark.methods import Method, State, UserData
from benchmark.records import JudgeItem, Judgment
from benchmark.toolkit.user_context import UserContext, about_user
from benchmark.toolkit.verdicts import judge_by_rewards


class ClassifierRewardModel(Method):
    class Params(Section):
        context: UserContext = UserContext()

    @property
    def reads_oracle(self) -> bool:
        return self.params.context.source == "oracle"

    def fit(self, user: UserData) -> State:
        return {"about_user": about_user(self.params.context, user)}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        return judge_by_rewards(self.models.reward(), items, state["about_user"], self.params.context.placement)
