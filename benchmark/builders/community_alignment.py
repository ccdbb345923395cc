"""facebook/community-alignment-dataset (`community_alignment.csv`) -> preference pairs and annotator profiles.

Follows the release (docs/schemas/community_alignment.md): a row is one annotator's conversation of up to four
turns (`first` .. `fourth`); each turn shows four candidates (`<turn>_turn_response_a` .. `_d`) and names the
one the annotator preferred (`<turn>_turn_preferred_response`, e.g. `response_b`); the next turn continues from
the preferred response.

prbench choices (options in configs/data/community_alignment.yaml):
- a user is an `annotator_id`; the `annotator_*` columns (and `assigned_lang`) become their profile;
- each turn gives the preferred response against every other candidate (`rejected=all`) or against one, picked
  by a seeded hash of (seed, conversation, turn) (`rejected=one`);
- the context is the conversation so far along the preferred path, ending with the turn's prompt;
- a turn with no prompt, or with no preference, ends the conversation: later turns would have no shared
  history, so they are dropped and counted; so are empty candidates and candidates identical to the preferred;
- filters (counted): `languages` (`assigned_lang` codes), `balanced_subset` (the release's balanced-subset
  flags), `pregenerated_only` (drop conversations the annotator opened with their own prompt).
Rows of a CSV are numbered from 1 after the header (row N is the N-th record, whatever its line count).
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from benchmark.builders.counts import BuildReport
from benchmark.config import Section
from benchmark.data.stored_judges import parse_flag
from benchmark.errors import DataError
from benchmark.records import Message, PreferencePair, UserProfile

TURNS = ("first", "second", "third", "fourth")
LETTERS = "abcd"
PREFERRED = {f"response_{letter}": letter for letter in LETTERS}
PROFILE = {"annotator_age": "age", "annotator_gender": "gender", "annotator_education_level": "education",
           "annotator_political": "political", "annotator_ethnicity": "ethnicity", "annotator_country": "country",
           "assigned_lang": "language"}
FILE_NAME = "community_alignment.csv"


class CommunityAlignmentOptions(Section):
    rejected: Literal["all", "one"] = "all"
    languages: list[str] | None = None  # `assigned_lang` codes to keep, e.g. [en]; None keeps all
    balanced_subset: Literal["none", "in_balanced_subset", "in_balanced_subset_10"] = "none"
    pregenerated_only: bool = False     # keep only conversations opened with a pregenerated prompt
    seed: int = 0                       # rejected=one: which candidate
    on_bad_row: Literal["error", "skip"] = "error"


def read_rows(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """The release's CSV (a file, or a folder holding `community_alignment.csv`; empty cells are None), or
    anything else `data.path` reads (a .jsonl / .parquet copy, a `save_to_disk` folder)."""
    from benchmark.data.sources import read_local

    path = Path(path).expanduser()
    if path.is_dir() and (path / FILE_NAME).exists():
        path = path / FILE_NAME
    if path.suffix != ".csv":
        return read_local(path), str(path)
    if not path.exists():
        raise DataError("no such file or folder", source=str(path))
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    rows = []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for number, row in enumerate(reader, 1):
                if None in row:
                    raise DataError(f"{len(row[None])} more cells than the header has columns", source=str(path),
                                    row=number)
                rows.append({k: (v if v != "" else None) for k, v in row.items()})
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 text (byte {error.start + 1} of a read block)", source=str(path)) from None
    except csv.Error as error:
        raise DataError(f"not a readable CSV file ({error})", source=str(path), row=len(rows) + 1) from None
    return rows, str(path)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str)
                                                                                  and not value.strip())


def _text(row: Mapping, field: str, where: dict) -> str | None:
    value = row.get(field)
    if _missing(value):
        return None
    if not isinstance(value, str):
        raise DataError(f"expected text, got {type(value).__name__}", **where, field=field)
    return value


def _key(row: Mapping, field: str, where: dict) -> str:
    value = row.get(field)
    if _missing(value):
        raise DataError("missing", **where, field=field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _flag(row: Mapping, field: str, where: dict) -> bool:
    flag = parse_flag(row.get(field))
    if flag is None:
        raise DataError(f"expected true or false, got {row.get(field)!r}", **where, field=field)
    return flag


def _pick(seed: int, conversation: str, turn: int, n: int) -> int:
    return int(hashlib.sha256(f"{seed}:{conversation}:{turn}".encode()).hexdigest(), 16) % n


def _conversation(row: Mapping, where: dict, user: str, conversation: str,
                  opts: CommunityAlignmentOptions) -> tuple[list[PreferencePair], Counter]:
    """One conversation's pairs and its drops; raises DataError (nothing counted) on a malformed turn."""
    pairs, drops, context = [], Counter(), []
    for number, turn in enumerate(TURNS):
        prompt = _text(row, f"{turn}_turn_prompt", where)
        preferred = row.get(f"{turn}_turn_preferred_response")
        if prompt is None or _missing(preferred):
            if prompt is not None:
                drops["turn without a preference"] += 1
            later = sum(_text(row, f"{t}_turn_prompt", where) is not None for t in TURNS[number + 1:])
            if later:
                drops["turn after a missing turn or preference"] += later
            break
        field = f"{turn}_turn_preferred_response"
        if not isinstance(preferred, str) or preferred.strip() not in PREFERRED:
            raise DataError(f"unknown preferred response {preferred!r} (expected response_a .. response_d)",
                            **where, field=field)
        letter = PREFERRED[preferred.strip()]
        chosen = _text(row, f"{turn}_turn_response_{letter}", where)
        if chosen is None:
            raise DataError("the preferred response is empty", **where, field=f"{turn}_turn_response_{letter}")
        context.append(Message("user", prompt))
        others = []
        for other in LETTERS.replace(letter, ""):
            text = _text(row, f"{turn}_turn_response_{other}", where)
            if text is None:
                drops["missing candidate response"] += 1
            elif text == chosen:
                drops["candidate identical to the preferred response"] += 1
            else:
                others.append((other, text))
        if opts.rejected == "one" and others:
            others = [others[_pick(opts.seed, conversation, number, len(others))]]
        for other, text in others:
            pairs.append(PreferencePair(
                f"{conversation}-t{number}-{other}", user, tuple(context), chosen, text, None, "community_alignment",
                {"conversation_id": conversation, "turns": number + 1, "type": "community_alignment",
                 "language": row.get("assigned_lang"), "chosen_letter": letter, "rejected_letter": other}))
        context.append(Message("assistant", chosen))
    return pairs, drops


def profile(user: str, row: Mapping) -> UserProfile:
    """The annotator columns as what persona methods may read (the first row seen of each annotator)."""
    return UserProfile(user, {name: row[col] for col, name in PROFILE.items() if not _missing(row.get(col))})


def community_alignment_pairs(rows: Iterable[Mapping], opts: CommunityAlignmentOptions, source: str
                              ) -> tuple[list[PreferencePair], dict[str, UserProfile], BuildReport]:
    report, pairs, profiles, seen = BuildReport(), [], {}, {}
    for index, row in enumerate(rows, 1):  # rows are 1-based in messages
        report.rows += 1
        where = {"source": source, "row": index}
        try:
            if opts.languages is not None and row.get("assigned_lang") not in opts.languages:
                report.drop("language filter")
                continue
            if opts.balanced_subset != "none" and not _flag(row, opts.balanced_subset, where):
                report.drop(f"not in the balanced subset ({opts.balanced_subset})")
                continue
            if opts.pregenerated_only and not _flag(row, "is_pregenerated_first_prompt", where):
                report.drop("first prompt written by the annotator")
                continue
            conversation = _key(row, "conversation_id", where)
            user = _key(row, "annotator_id", where)
            if conversation in seen:
                raise DataError(f"duplicate conversation_id {conversation!r} (first seen at row {seen[conversation]})",
                                **where, field="conversation_id")
            own, drops = _conversation(row, where, user, conversation, opts)
        except DataError as error:
            report.bad_row(error, opts.on_bad_row)
            continue
        seen[conversation] = index
        pairs += own
        report.dropped.update(drops)
        profiles.setdefault(user, profile(user, row))
    report.pairs = len(pairs)
    return pairs, profiles, report
