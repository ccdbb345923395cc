"""The paper's "Default" judge run by the SynthesizeMe authors' own code (synthesizeme==0.0.1): its DSPy
`LLMAsAJudgeProgram`, a `ChainOfThought` over the `LLMAsAJudge` signature (hypothesize 1-3 speculations
about the judge's preferences; `conversation`, `first_completion`, `second_completion` in, `First` /
`Second` out), up to 4 attempts, a tie when none parses. Its prompts are the reference's, byte for byte;
its calls go through prbench's model layer (`benchmark/models/dspy_lm.py`).

Follows the reference: the program, its prompt and parsing, the texts formatted by its `format_conversation`
and never clipped, generation settings of its `setup()` (temperature 0, `max_tokens` 4096).
Differs: 0.0.1's `DefaultJudge` cannot be built (its `__init__` reads an undefined `user_id`: NameError), so
the program it wraps is called directly, the way its optimizers call it; an answer that never parses is a
counted failure here, a tie there (wrong in both). Needs the `reference` extra.
"""

from __future__ import annotations

from collections.abc import Sequence

# isort: off
from benchmark.models.dspy_lm import PrbenchLM  # first: it sets LiteLLM's offline switches
# isort: on

from pydantic import Field
from synthesizeme.utils.dspy_methods import LLMAsAJudgeProgram

from baselines.reference.data import user_role
from baselines.reference.programs import judge_items
from benchmark.config import Section
from benchmark.methods import Method, State, UserData
from benchmark.records import JudgeItem, Judgment


class ReferenceLMParams(Section):
    """How the reference's programs reach the model (what its `setup()` gives `dspy.LM`) and how its texts are
    labelled; shared by the reference methods."""

    max_tokens: int = Field(4096, ge=1, description="generation bound per call (the reference's setup: 4096)")
    temperature: float = Field(0.0, ge=0, description="the reference's: 0 (its retries scale it, 0 stays 0)")
    num_threads: int = Field(8, ge=1, description="calls in flight per user (the reference's num_workers: 8)")
    assistant_role: str = Field("auto", description="auto: `model` for data=prism, else `assistant`")
    quiet: bool = Field(True, description="silence the reference's prints, progress bars and logs (users interleave)")


class PlainReference(Method):
    Params = ReferenceLMParams

    def __init__(self, params, models):
        super().__init__(params, models)
        self.default_program = LLMAsAJudgeProgram()

    def lm(self) -> PrbenchLM:
        return PrbenchLM(self.models.chat(), max_tokens=self.params.max_tokens, temperature=self.params.temperature)

    def fit(self, user: UserData) -> State:
        return {"assistant_role": user_role(user.known, self.params.assistant_role)}

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        return judge_items(self.default_program, items, self.lm, state["assistant_role"], self.params.num_threads,
                           self.params.quiet)
