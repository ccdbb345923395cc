"""SynthesizeMe run by its authors' own code (synthesizeme==0.0.1, dspy 2.6.12), end to end, per user:

1. Bootstrap: DSPy's `BootstrapFewShotWithRandomSearch` over the reference's `LLMAsAJudgeProgram` on the
   user's train pairs (labelled demos up to `max_labeled_demos`, candidate programs -2..N-1 scored on the
   val pairs in both orders, stop at `stop_at_score`), inside its `GeneratePersonaProgram`;
2. Persona: the best program's demonstrations rendered as past judgements and handed to the persona
   program it ships, MIPRO-optimized for Llama 3.2 3B / 3.1 8B / 3.3 70B (`prompts/llama*.json`, ~20k tokens
   of instructions and demonstrations), chosen by the judge model's size (`persona_program`);
3. Demonstrations again: the same search over `LLMAsAJudgeProgramPersona(persona)` (the persona in its
   instructions), candidates -3..N-1 on val; the winner judges the test pairs.
Ablations as in the paper: `use_demos=false` (Just Personas: step 3's zero-shot program),
`use_persona=false` (Just Demos: step 3's search over the default judge, no persona).

Follows the reference: its classes do every step, with the arguments its `SynthesizeMe.fit` passes; its
texts are whole conversations, never clipped; its generation settings (temperature 0, 4096 new tokens).
The steps are called here rather than through `SynthesizeMe.fit` (this file mirrors its dozen lines) because
0.0.1's `fit` takes `flip` from the data (False when absent: every chosen response second), does not put val
in both orders as the paper's split does, and stops the user when the persona call fails. Differs:
- a user without train or val pairs is refused, as the reference refuses (ValueError): counted failures;
- a persona call that fails (a prompt over `backend.max_prompt_tokens`, an answer that never parses) gives
  an empty persona and the search goes on (`on_persona_failure=empty_persona`; `fail_user` stops that user:
  counted failures); `persona_status` in the fit says which;
- calls go through prbench's model layer (cache, meter, retries, concurrency), `num_threads` per user in
  flight as the reference's `num_workers` (8), many users at once; `prefetch` sends each search's first calls
  (DSPy makes them one by one) together beforehand: the same requests, sooner;
- the shipped program is loaded with `load_state` (dspy's `load` minus its Python-version warning).
The fit (`fit/<user>.json`) holds the persona, the winning program's state (dspy's own JSON) and every
candidate's val score; `about_user` is the persona, for reward models that read it. Needs the `reference` extra.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

# isort: off
from benchmark.models.dspy_lm import prbench_context  # first: it sets LiteLLM's offline switches
# isort: on

import ujson
from dspy.teleprompt import BootstrapFewShotWithRandomSearch
from dspy.utils.parallelizer import ParallelExecutor
from pydantic import Field
from synthesizeme.utils.dspy_methods import GeneratePersonaProgram, LLMAsAJudgeProgram, LLMAsAJudgeProgramPersona
from synthesizeme.utils.utils import exact_match

from baselines.plain_reference import PlainReference, ReferenceLMParams
from baselines.reference.data import reference_rows, train_examples, user_role, val_examples
from baselines.reference.programs import dump, failed, judge_items, persona_program
from benchmark.methods import State, UserData
from benchmark.records import JudgeItem, Judgment
from benchmark.toolkit.user_context import check_fit_split


class SynthesizeMeReference(PlainReference):
    class Params(ReferenceLMParams):
        use_persona: bool = True
        use_demos: bool = True
        persona_program: str = Field("auto", description="auto (by model size) | llama3b | llama8b | llama70b | a file")
        max_bootstrapped_demos: int = Field(-1, ge=-1, description="the reference's: -1 = as many as train pairs")
        max_labeled_demos: int = Field(4, ge=-1)
        num_search_candidates: int = Field(10, ge=0, description="the reference's num_search_candidates")
        stop_at_score: float = Field(80.0, description="val accuracy (%) that ends a search")
        on_persona_failure: Literal["empty_persona", "fail_user"] = "empty_persona"
        max_prompt_tokens: int = Field(32768, ge=1, description="prompt length these prompts need (a note when "
                                                                "backend.max_prompt_tokens is lower)")
        seed: int = 0  # the coin for `flip` where the data has none
        prefetch: bool = Field(True, description="send each search's first calls together (the same requests)")

    def setup(self, users: Sequence[UserData]) -> State:
        limit = getattr(self.models.backend, "max_prompt_tokens", None)
        if limit is not None and limit < self.params.max_prompt_tokens:
            print(f"[prbench] note: backend.max_prompt_tokens={limit} is below the {self.params.max_prompt_tokens} "
                  f"tokens the reference's prompts can need (its persona program alone is ~20k): longer prompts are "
                  f"counted failures; pass backend.max_prompt_tokens={self.params.max_prompt_tokens} to allow them")
        return {"persona_program": self.program_file if self.params.use_persona else None}

    @cached_property
    def program_file(self) -> str:
        return persona_program(self.params.persona_program, self.models.model.name)

    @cached_property
    def program_state(self) -> dict:
        with open(self.program_file, encoding="utf-8") as f:
            return ujson.loads(f.read())

    def _limits(self, n_train: int) -> tuple[int, int]:
        """The reference's -1 = every train pair."""
        p = self.params
        return (n_train if p.max_bootstrapped_demos == -1 else p.max_bootstrapped_demos,
                n_train if p.max_labeled_demos == -1 else p.max_labeled_demos)

    def _prefetch(self, program, train: list, val: list) -> None:
        """Send a search's first calls `num_threads` at a time, before DSPy makes them one by one.

        A search begins with the zero-shot prompts: its first candidate (zero-shot, or labels-only: the
        labelled demos lack the signature's output fields, so the ChatAdapter never shows them) is scored on
        val; unless that score ends the search (`stop_at_score`), the unshuffled candidate then bootstraps every
        train pair in turn (with the reference's `max_bootstrapped_demos=-1`), its teacher prompting as the
        zero-shot program does. Running the zero-shot program on val, and then on train unless the search
        will stop, sends exactly those requests, together; the search then finds them in the request cache.
        Only with `cache.mode=write` and when every train pair is bootstrapped;
        tests/baselines/test_reference_prompts.py checks that no request is added."""
        n_boot, _ = self._limits(len(train))
        if not self.params.prefetch or self.models.cache.mode != "write" or n_boot < len(train):
            return
        zero_shot = program.reset_copy()

        def run_all(examples: list) -> list:
            return ParallelExecutor(num_threads=self.params.num_threads, max_errors=len(examples) + 1, timeout=0,
                                    disable_progress_bar=True).execute(lambda e: zero_shot(**e.inputs()), examples)

        predictions = run_all(val)
        score = round(100 * sum(exact_match(e, p) for e, p in zip(val, predictions) if p is not None) / len(val), 2)
        if score < self.params.stop_at_score and len(train) > 1:
            run_all(train)

    def _persona(self, train: list, val: list, user_id: str) -> tuple[str | None, str]:
        """Steps 1-2: the reference's GeneratePersonaProgram with its shipped program loaded (as `fit` loads it)."""
        n_boot, n_labeled = self._limits(len(train))
        generate = GeneratePersonaProgram(output_dir=None, max_bootstrapped_demos=n_boot, max_labeled_demos=n_labeled,
                                          num_threads_inner=self.params.num_threads,
                                          num_candidates=self.params.num_search_candidates,
                                          stop_at_score=self.params.stop_at_score)
        generate.load_state(copy.deepcopy(self.program_state))  # dspy's `load`, minus its version warning
        self._prefetch(LLMAsAJudgeProgram(), train, val)
        try:
            persona = generate(user_train=train, user_val=val, user_id=user_id).persona
        except Exception as error:  # the reference stops here (an LM error or an unparsed answer)
            return None, f"failed: {type(error).__name__}: {str(error)[:300]}"
        return (persona, "synthesized") if persona else (None, "failed: empty persona")

    def _search(self, program, train: list, val: list):
        """Step 3: the optimizer `SynthesizeMe.fit` builds, over `program`."""
        n_boot, n_labeled = self._limits(len(train))
        self._prefetch(program, train, val)
        optimizer = BootstrapFewShotWithRandomSearch(
            max_bootstrapped_demos=min(n_boot, len(train)), max_labeled_demos=min(n_labeled, len(train)),
            num_candidate_programs=self.params.num_search_candidates, num_threads=self.params.num_threads,
            stop_at_score=self.params.stop_at_score, metric=exact_match)
        return optimizer.compile(program, trainset=train, valset=val)

    def fit(self, user: UserData) -> State:
        p = self.params
        state = {"assistant_role": user_role(user.known, p.assistant_role), "bootstrapped": len(user.train),
                 "demos": [], "persona": None, "about_user": None}
        if not user.train or not user.val:  # the reference's fit raises ValueError here
            reason = "No training preferences provided." if not user.train else "Not enough preferences for validation."
            return {**state, "status": f"refused by the reference: {reason}"}
        train = train_examples(reference_rows(user.train, p.seed, p.assistant_role), user.user_id)
        val = val_examples(reference_rows(user.val, p.seed, p.assistant_role), user.user_id)
        with prbench_context(self.lm(), p.quiet):
            persona, persona_status = self._persona(train, val, user.user_id) if p.use_persona else \
                (None, "off (use_persona=false)")
            if p.use_persona and persona is None and p.on_persona_failure == "fail_user":
                return {**state, "status": f"persona {persona_status}", "persona_status": persona_status}
            program = LLMAsAJudgeProgramPersona(persona or "") if p.use_persona else LLMAsAJudgeProgram()
            search = []
            if p.use_demos:
                program = self._search(program, train, val)
                search = [{"seed": c["seed"], "val_score": c["score"]} for c in program.candidate_programs]
        return {**state, "status": "fitted", "persona": persona, "persona_status": persona_status,
                "about_user": persona, "program": dump(program), "search": search}

    def fitted_program(self, state: State):
        """The fitted program, rebuilt from its state."""
        program = LLMAsAJudgeProgramPersona(state["persona"] or "") if self.params.use_persona else \
            LLMAsAJudgeProgram()
        program.load_state(state["program"])
        return program

    @classmethod
    def fitted_about_user(cls, state: State, user: UserData) -> str | None:
        """The synthesized persona, for reward models that read it."""
        check_fit_split(state, user)
        return state.get("about_user")

    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        if state["status"] != "fitted":
            return failed(items, state["status"])
        return judge_items(self.fitted_program(state), items, self.lm, state["assistant_role"],
                           self.params.num_threads, self.params.quiet)
