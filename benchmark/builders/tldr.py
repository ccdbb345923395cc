"""openai/summarize_from_feedback, `comparisons` -> preference pairs with the labelling worker as the user.

Follows the release (docs/schemas/tldr_comparisons.md): a row is one worker's comparison of two summaries
(`summaries[0]`, `summaries[1]`) of one post (`info`), `choice` naming the preferred one. The context is the
paper's own query format, `SUBREDDIT: r/{subreddit}\\n\\nTITLE: {title}\\n\\nPOST: {post}\\n\\nTL;DR:`
(summarize_from_feedback/utils/experiment_helpers.py, `tldr_task`); CNN/DM comparisons (an `article`, no
`post`) use its `Article:\\n{article}\\n\\nTL;DR:\\n`.

prbench choices (options in configs/data/tldr_workers.yaml):
- a user is a `worker`; curation's `min_pairs` keeps workers with at least that many comparisons;
- `posts_only` (default) drops the CNN/DM comparisons, which are not Reddit posts; `splits` keeps only the
  release's `split` values named (train, valid1, valid2); `min_confidence` drops comparisons whose
  `extra.confidence` (1-9) is below it or missing. All counted;
- summaries are stripped of surrounding whitespace (the policies' samples start with a space); identical
  summaries, and a worker's repeat of the same comparison, are dropped and counted;
- the release's post-level `split` is kept in `meta` only: users are re-split per user.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from benchmark.builders.counts import BuildReport
from benchmark.config import Section
from benchmark.errors import DataError
from benchmark.records import Message, PreferencePair

POST_QUERY = "SUBREDDIT: r/{subreddit}\n\nTITLE: {title}\n\nPOST: {post}\n\nTL;DR:"
ARTICLE_QUERY = "Article:\n{article}\n\nTL;DR:\n"


class TldrOptions(Section):
    posts_only: bool = True                 # drop CNN/DM comparisons (an `article`, not a Reddit `post`)
    splits: list[str] | None = None         # the release's `split` values to keep; None keeps all
    min_confidence: int | None = Field(None, ge=1, le=9)  # drop comparisons with a lower or missing confidence
    on_bad_row: Literal["error", "skip"] = "error"


def read_rows(path: str | Path) -> tuple[list[dict[str, Any]], str]:
    """A release file (`comparisons/batch*.json` are JSON lines despite the name) or anything `data.path` reads."""
    from benchmark.data.sources import read_jsonl, read_local

    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".json":
        return list(read_jsonl(path)), str(path)
    return read_local(path), str(path)


def _query(info: Any, where: dict) -> tuple[str, bool]:
    """The context text, and whether it is a Reddit post."""
    if not isinstance(info, Mapping):
        raise DataError(f"info must be an object, got {type(info).__name__}", **where, field="info")
    if isinstance(info.get("post"), str) and info["post"].strip():
        fields = {k: info.get(k) for k in ("subreddit", "title")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise DataError("a post needs a title and a subreddit", **where, field="info")
        return POST_QUERY.format(post=info["post"], **fields), True
    if isinstance(info.get("article"), str) and info["article"].strip():
        return ARTICLE_QUERY.format(article=info["article"]), False
    raise DataError("info has neither a post nor an article", **where, field="info")


def _summaries(row: Mapping, where: dict) -> tuple[str, str, Any, Any]:
    summaries = row.get("summaries")
    if hasattr(summaries, "tolist") and not isinstance(summaries, (str, bytes)):
        summaries = summaries.tolist()
    if not isinstance(summaries, list) or len(summaries) != 2 or not all(isinstance(s, Mapping) for s in summaries):
        raise DataError("summaries must be a list of two {text, policy, note} objects", **where, field="summaries")
    texts = [s.get("text") for s in summaries]
    if not all(isinstance(t, str) and t.strip() for t in texts):
        raise DataError("a summary's text is missing or empty", **where, field="summaries")
    return texts[0].strip(), texts[1].strip(), summaries[0].get("policy"), summaries[1].get("policy")


def _choice(row: Mapping, where: dict) -> int:
    choice = row.get("choice")
    if hasattr(choice, "item"):
        choice = choice.item()
    if isinstance(choice, bool) or choice not in (0, 1):
        raise DataError(f"choice must be 0 or 1, got {choice!r}", **where, field="choice")
    return int(choice)


def _confidence(row: Mapping, where: dict) -> int | None:
    extra = row.get("extra")
    value = extra.get("confidence") if isinstance(extra, Mapping) else None
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise DataError(f"extra.confidence must be a whole number, got {value!r}", **where, field="extra")
    return int(value)


def tldr_pairs(rows: Iterable[Mapping], opts: TldrOptions, source: str) -> tuple[list[PreferencePair], BuildReport]:
    report, pairs, seen = BuildReport(), [], set()
    for index, row in enumerate(rows, 1):  # rows are 1-based in messages
        report.rows += 1
        where = {"source": source, "row": index}
        try:
            query, is_post = _query(row.get("info"), where)
            if opts.posts_only and not is_post:
                report.drop("CNN/DM article (not a Reddit post)")
                continue
            if opts.splits is not None and row.get("split") not in opts.splits:
                report.drop("split filter")
                continue
            confidence = _confidence(row, where)
            if opts.min_confidence is not None and (confidence is None or confidence < opts.min_confidence):
                report.drop("confidence missing or below min_confidence")
                continue
            worker = row.get("worker")
            if not isinstance(worker, str) or not worker.strip():
                raise DataError("missing worker (the user id)", **where, field="worker")
            first, second, first_policy, second_policy = _summaries(row, where)
            choice = _choice(row, where)
        except DataError as error:
            report.bad_row(error, opts.on_bad_row)
            continue
        if first == second:
            report.drop("identical summaries")
            continue
        post_id = str(row["info"].get("id") or "")
        key = hashlib.sha1(repr((worker, post_id, query, sorted((first, second)))).encode()).hexdigest()[:12]
        if key in seen:
            report.drop("duplicate comparison (same worker, post and summaries)")
            continue
        seen.add(key)
        (chosen, chosen_policy), (rejected, rejected_policy) = (
            ((first, first_policy), (second, second_policy)) if choice == 0 else
            ((second, second_policy), (first, first_policy)))
        pairs.append(PreferencePair(
            f"{post_id}-{key}", worker, (Message("user", query),), chosen, rejected, None, "tldr_workers",
            {"conversation_id": post_id, "turns": 1, "type": row["info"].get("subreddit") or row["info"].get("site"),
             "chosen_policy": chosen_policy, "rejected_policy": rejected_policy, "batch": row.get("batch"),
             "source_split": row.get("split"), "confidence": confidence}))
    report.pairs = len(pairs)
    return pairs, report
