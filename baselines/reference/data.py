"""prbench's pairs as the SynthesizeMe reference reads them, and the real pairs its package ships.

Follows the reference: a pair becomes its row format `{"context": [messages], "chosen": message,
"rejected": message, "flip": bool}`, turned into DSPy examples by its own `convert_df_to_dspy` (each text
through its `format_conversation`: "[role]: content", nothing clipped); val pairs in both orders through its
`flip_augmentation`, as its `convert_user_df_to_dspy` (the paper's per-user split) does; train pairs once.
Test items go in as its examples do: `conversation`, `completion_one`, `completion_two`.

Fills in where prbench's records hold less than the published rows:
- `flip` (chosen shown first) is the pair's stored `flip` column when the data has one (PersonalRewardBench
  does), else a seeded coin per pair. 0.0.1's `convert_df_to_dspy` defaults it to False, which would put the
  chosen response second in every example (a judge that always says "Second" would score 100% on val).
- Roles: prbench reads a message role `model` as `assistant`; `assistant_role="auto"` writes `model` back for
  `data=prism` (the published PRISM rows, and the shipped programs' demonstrations, say `[model]:`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from importlib.resources import files

import pandas as pd
from synthesizeme.utils.format_conv import format_conversation
from synthesizeme.utils.utils import convert_df_to_dspy, flip_augmentation

from benchmark.data.stored_judges import parse_flag
from benchmark.models.dspy_lm import dspy  # noqa: I001  (first: it sets LiteLLM's offline switches)
from benchmark.records import JudgeItem, Message, PreferencePair

MODEL_ROLE_DATA = {"prism"}  # sources whose published rows name the assistant `model`


def assistant_label(source: str, assistant_role: str) -> str:
    if assistant_role != "auto":
        return assistant_role
    return "model" if source in MODEL_ROLE_DATA else "assistant"


def as_message(message: Message, assistant: str) -> dict:
    return {"role": assistant if message.role == "assistant" else message.role, "content": message.content}


def flip_of(pair: PreferencePair, seed: int) -> bool:
    """The pair's stored `flip`, else a seeded coin (the same for every method and run with this seed)."""
    stored = parse_flag(pair.meta["flip"]) if "flip" in pair.meta else None
    return stored if stored is not None else random.Random(f"{seed}:flip:{pair.pair_id}").random() < 0.5


def reference_rows(pairs: Sequence[PreferencePair], seed: int, assistant_role: str) -> list[dict]:
    """The reference's row format (its README's "Input Data Format", plus `flip` and ids)."""
    rows = []
    for pair in pairs:
        role = assistant_label(pair.source, assistant_role)
        rows.append({"context": [as_message(m, role) for m in pair.context],
                     "chosen": {"role": role, "content": pair.chosen},
                     "rejected": {"role": role, "content": pair.rejected},
                     "flip": flip_of(pair, seed), "conversation_id": pair.pair_id, "user_id": pair.user_id})
    return rows


def train_examples(rows: list[dict], user_id: str) -> list:
    return list(convert_df_to_dspy(pd.DataFrame(rows), user_id)) if rows else []


def val_examples(rows: list[dict], user_id: str) -> list:
    """Each val pair in both orders (the reference's `flip_augmentation`)."""
    return list(flip_augmentation(convert_df_to_dspy(pd.DataFrame(rows), user_id))) if rows else []


def user_role(pairs: Sequence[PreferencePair], assistant_role: str) -> str:
    """The assistant's role label for this user's texts (their pairs' data source decides under `auto`)."""
    return assistant_label(pairs[0].source if pairs else "", assistant_role)


def item_inputs(item: JudgeItem, role: str) -> dict[str, str]:
    """A test item as the reference's programs take it (what its examples' inputs hold); `role` labels the
    assistant's turns."""
    return {"conversation": format_conversation([as_message(m, role) for m in item.context]),
            "completion_one": format_conversation({"role": role, "content": item.first}),
            "completion_two": format_conversation({"role": role, "content": item.second})}


# The real pairs inside the package: each demonstration of a shipped persona program is one PRISM user's
# past judgements, rendered by the reference's GeneratePersonaProgram ("Conversation", both completions,
# the reasoning when bootstrapped, "TRUE USER PREFERENCE").
PROGRAMS = ("llama3b", "llama8b", "llama70b")
_BLOCK = re.compile(r"\*\*Conversation\*\*: (.*?)\n===\n\s*\*\*Completion One \(FIRST COMPLETION\)\*\*: «(.*?)»\n"
                    r"===\n\s*\*\*Completion Two \(SECOND COMPLETION\)\*\*: «(.*?)»\n===\n"
                    r"(?:\s*\*\*Reasoning\*\*: «.*?»\n===\n)?\s*\*\*TRUE USER PREFERENCE\*\*: (First|Second)\n", re.S)
_TURN = re.compile(r"(?:^|\n\n)\[(user|model|assistant|system)\]: ")


def _messages(text: str) -> list[dict]:
    parts = _TURN.split(text)
    if parts[0].strip():
        raise ValueError(f"not a rendered conversation: {text[:60]!r}")
    return [{"role": role, "content": content} for role, content in zip(parts[1::2], parts[2::2])]


def program_path(name: str):
    return files("synthesizeme").joinpath(f"prompts/{name}.json")


def shipped_users() -> dict[str, list[dict]]:
    """{user id: rows} for every distinct user in the package's persona programs (rows in the order shown,
    in prbench's row format; the shown order is kept as `flip`)."""
    users: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for name in PROGRAMS:
        demos = json.loads(program_path(name).read_text(encoding="utf-8"))["synthesize.predict"]["demos"]
        for index, demo in enumerate(demos):
            blocks = _BLOCK.findall(demo["past_judgements"])
            if not blocks or blocks[0][0] in seen:
                continue
            seen.add(blocks[0][0])
            user = f"{name}-{index}"
            rows = []
            for i, (conversation, one, two, preference) in enumerate(blocks):
                (first,), (second,) = _messages(one), _messages(two)
                chosen, rejected = (first, second) if preference == "First" else (second, first)
                rows.append({"pair_id": f"{user}-{i}", "user_id": user, "context": _messages(conversation),
                             "chosen": chosen, "rejected": rejected, "flip": preference == "First"})
            users[user] = rows
    return users


__all__ = ["assistant_label", "dspy", "flip_of", "item_inputs", "program_path", "reference_rows", "shipped_users",
           "train_examples", "user_role", "val_examples"]
