"""The reference's programs as prbench methods use them: which persona program, state in and out of a fit,
and test items judged with a program through prbench's model layer.

Follows the reference: its programs are called as its optimizers and evaluation call them,
`program(conversation=..., completion_one=..., completion_two=...)` (0.0.1's `predict_pairwise` passes
`context=` to a `.predict` the programs do not have), and their verdicts are read as they return them:
"First" / "Second", and "Tie" when the answer names both or neither or when no attempt parsed (its
`repeat_dspy_call`: up to 4 attempts). prbench keeps the two kinds of tie apart: a parsed "Tie" is a tie, an
attempt that never parsed (the program's `output="Error"`) is a counted failure; both count as wrong.
Items run in threads (`num_threads`), each under its own LM so its calls are metered to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import ujson

from baselines.reference.data import PROGRAMS, item_inputs, program_path
from benchmark.errors import ConfigError
from benchmark.models.dspy_lm import PrbenchLM, prbench_context
from benchmark.models.layer import metered
from benchmark.records import JudgeItem, Judgment

SIZE = re.compile(r"(?<![\d.])(3|8|70)b\b")


def persona_program(choice: str, model_name: str) -> str:
    """The persona-synthesis program file: `auto` picks the shipped program of the judge's size (3B, 8B,
    70B, from the model name), `llama3b|llama8b|llama70b` names one, anything else is a path."""
    if choice in PROGRAMS:
        return str(program_path(choice))
    if choice != "auto":
        return choice
    sizes = SIZE.findall(model_name.lower())
    if len(set(sizes)) != 1:
        raise ConfigError(f"config method.params.persona_program: the model {model_name!r} is not a 3B, 8B or "
                          f"70B model, so no shipped persona program matches it; pass "
                          f"method.params.persona_program=llama3b|llama8b|llama70b (or a program file)")
    return str(program_path(f"llama{sizes[0]}b"))


def dump(program) -> dict:
    """A program's state as JSON (dspy's own `save` writes it with ujson the same way)."""
    return ujson.loads(ujson.dumps(program.dump_state()))


def verdict(prediction, last_answer: str | None = None) -> tuple[str, str]:
    """prbench's verdict and the raw text kept with it (for a failure, the model's last answer)."""
    reasoning = str(getattr(prediction, "reasoning", "") or "")
    if getattr(prediction, "output", None) == "Error":
        return "fail", ("no attempt of the program parsed (the reference's tie on error); last answer: "
                        f"{last_answer!r}"[:4000])
    preference = getattr(prediction, "preference", "Tie")
    return {"First": "first", "Second": "second"}.get(preference, "tie"), reasoning


def judge_items(program, items: Sequence[JudgeItem], new_lm: Callable[[], PrbenchLM], role: str,
                threads: int, silent: bool = True) -> list[Judgment]:
    """Each item through `program`, `threads` at a time; each judgment carries the cost of its own calls."""
    def one(item: JudgeItem) -> Judgment:
        with metered() as meter:
            lm = new_lm()
            with prbench_context(lm, silent):
                prediction = program(**item_inputs(item, role))
        preferred, raw = verdict(prediction, lm.last_text)
        return Judgment(preferred, None, raw, meter.cost)

    if threads <= 1 or len(items) <= 1:
        return [one(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items)), thread_name_prefix="reference-judge") as pool:
        return list(pool.map(one, items))


def failed(items: Sequence[JudgeItem], reason: str) -> list[Judgment]:
    return [Judgment("fail", None, reason) for _ in items]
