"""What a method may tell a model about a user, and where in the conversation it goes.

Sources: the user's survey `demographics`, their `stated` preferences, a `memory` of past choices, the
`oracle` persona (demo only), or the per-user prompt a SynthesizeMe run saved (`synthesizeme`: its method
reads that run's `fit/<user>.json` through `Method.fitted_about_user`, never recomputed). Placement: a
`system` message, or a `preamble` before the first user turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from benchmark.config import Section
from benchmark.errors import DataError
from benchmark.methods import State, UserData, method_class
from benchmark.records import Message
from benchmark.runs import read_config, read_state, user_fit
from benchmark.toolkit.judging import clip

NEEDS = {"demographics": "survey demographics (e.g. data=prism_raw)", "stated": "stated preferences",
         "oracle": "a ground-truth persona (only the demo benchmark has one)"}


class UserContext(Section):
    source: Literal["none", "demographics", "stated", "memory", "oracle", "synthesizeme"] = "none"
    placement: Literal["system", "preamble"] = "system"
    synthesizeme_run: str | None = None  # a SynthesizeMe run folder, e.g. results/runs/demo/synthesizeme
    k: int = Field(4, ge=1, description="memory: the user's k most recent past choices")
    memory_chars: int = Field(600, ge=50, description="memory: characters shown per response")


def render_demographics(demographics: dict) -> str:
    return "\n".join(f"- {k.replace('_', ' ')}: {v}" for k, v in sorted(demographics.items()))


def memory_pool(user: UserData) -> list[dict]:
    """The user's past choices (train, then val), each with its position in the data for recency."""
    return [{"prompt": p.context[-1].content, "chosen": p.chosen, "rejected": p.rejected,
             "order": p.meta.get("tstamp", p.meta.get("row", 0))} for p in user.known]


def recent(pool: list[dict], k: int) -> list[dict]:
    return sorted(pool, key=lambda p: p["order"])[-k:]


def render_memory(pairs: Sequence[dict], max_chars: int) -> str:
    blocks = [f"{i}. Request: {clip(p['prompt'], max_chars)}\n   Preferred: {clip(p['chosen'], max_chars)}\n"
              f"   Over: {clip(p['rejected'], max_chars)}" for i, p in enumerate(pairs, 1)]
    return "Past choices of this user:\n" + "\n".join(blocks)


def saved_about_user(run_dir: Path, user: UserData) -> str | None:
    """What the run in `run_dir` (a SynthesizeMe run) learned about this user, as its method reads its own fit
    state (`Method.fitted_about_user`): the run is never recomputed."""
    path = user_fit(run_dir, user.user_id)
    if not path.exists():
        raise DataError(f"no SynthesizeMe fit for user {user.user_id!r}; run method=synthesizeme with the same "
                        f"data and split first (its run folder is context.synthesizeme_run)", source=str(path))
    kind = read_config(run_dir).get("method", {}).get("kind")
    state = read_state(path, user.user_id)["state"]
    try:
        return method_class(kind).fitted_about_user(state, user)
    except DataError as error:  # the fit does not fit this user: name its file
        raise DataError(str(error), source=str(path)) from None


def check_fit_split(state: State, user: UserData) -> None:
    """Refuses a SynthesizeMe-style fit state (`demos` with pair ids, `bootstrapped` train pairs) made on other
    pairs than `user`'s train pairs."""
    train_ids = {p.pair_id for p in user.train}
    foreign = [d["pair_id"] for d in state.get("demos", []) if d["pair_id"] not in train_ids]
    if foreign or state.get("bootstrapped", len(train_ids)) != len(train_ids):
        raise DataError(f"the SynthesizeMe fit was made on another split (demos {foreign}, "
                        f"{state.get('bootstrapped')} train pairs vs {len(train_ids)} here)", field="demos")


def about_user(ctx: UserContext, user: UserData) -> str | None:
    """The text for this user, or None for `source: none` (or a SynthesizeMe fit with no persona)."""
    if ctx.source == "none":
        return None
    if ctx.source == "memory":
        return render_memory(recent(memory_pool(user), ctx.k), ctx.memory_chars)
    if ctx.source == "synthesizeme":
        if not ctx.synthesizeme_run:
            raise DataError("context.source=synthesizeme needs context.synthesizeme_run (a SynthesizeMe run folder)")
        return saved_about_user(Path(ctx.synthesizeme_run), user)
    profile = user.profile
    text = {"demographics": render_demographics(profile.demographics) if profile.demographics else None,
            "stated": profile.stated, "oracle": profile.persona_truth}[ctx.source]
    if not text:
        raise DataError(f"user context {ctx.source!r} needs {NEEDS[ctx.source]}, and user {user.user_id!r} has none; "
                        f"use another source or dataset")
    return text


def with_about(context: Sequence[Message], about: str | None, placement: str) -> tuple[Message, ...]:
    """The conversation with the user's description inserted as a system message or a preamble."""
    if not about:
        return tuple(context)
    text = f"About this user:\n{about}"
    if placement == "system":
        if context and context[0].role == "system":
            return (Message("system", f"{text}\n\n{context[0].content}"), *context[1:])
        return (Message("system", text), *context)
    first = next(i for i, m in enumerate(context) if m.role == "user")
    turn = context[first]
    return (*context[:first], Message("user", f"{text}\n\n{turn.content}"), *context[first + 1:])
