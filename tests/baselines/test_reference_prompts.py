"""The reference methods send the SynthesizeMe authors' prompts byte for byte.

The package's own code (synthesizeme==0.0.1: its `setup()` LM through LiteLLM, its `SynthesizeMe.fit`, its
programs) and prbench's `plain_reference` / `synthesizeme_reference` (through prbench's openai backend) run
against one local OpenAI-compatible server that records every request, on the same real pairs (users shipped
inside the package); the recorded message lists (system prompt, demonstrations, user turns) must be the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from synthesizeme.personalrm.default_judge import DefaultJudge
from synthesizeme.personalrm.synthesizeme import SynthesizeMe
from synthesizeme.utils.dspy_methods import LLMAsAJudgeProgram
from synthesizeme.utils.utils import convert_df_to_dspy, flip_augmentation, setup

import benchmark.models.dspy_lm  # noqa: F401, I001  (first: it sets LiteLLM's offline switches before dspy loads)
from baselines.reference.data import shipped_users
from baselines.reference.stand_in import DSPyStandIn
from benchmark.runner.run import run
from tests.conftest import make_config, write_jsonl

USERS = {"llama8b-2": (3, 2), "llama70b-0": (2, 2)}  # user: (train pairs, val pairs); the rest is test
PERSONA_PROGRAM = "llama8b"


@pytest.fixture(scope="module")
def server():
    return DSPyStandIn(choice_s=0.0, generate_s=0.0, keep_bodies=True).start()


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict]]:
    """The shipped users' pairs with a split column."""
    users = shipped_users()
    out = {}
    for user, (n_train, n_val) in USERS.items():
        out[user] = [{**r, "split": "train" if i < n_train else "val" if i < n_train + n_val else "test"}
                     for i, r in enumerate(users[user])]
    return out


def messages(bodies: list[dict]) -> set[str]:
    """Each request's messages, exactly (roles and contents), as one comparable string."""
    return {json.dumps(b["messages"], ensure_ascii=False) for b in bodies}


def assert_same_requests(reference: list[dict], ours: list[dict]) -> None:
    ref, mine = messages(reference), messages(ours)
    only_ref, only_mine = ref - mine, mine - ref
    assert not only_ref and not only_mine, (
        f"{len(only_ref)} request(s) only the reference sent, {len(only_mine)} only prbench sent; first of each:\n"
        f"{next(iter(only_ref), '')[:600]}\n---\n{next(iter(only_mine), '')[:600]}")
    for body in ours + reference:  # the reference's setup(): temperature 0, max_tokens 4096
        assert body["max_tokens"] == 4096 and body.get("temperature", 0) == 0


def take(server) -> list[dict]:
    bodies, server.bodies = server.bodies, []
    return bodies


def reference_lm(server):
    """The LM the package's own `setup()` builds for a local model (LiteLLM, `litellm_proxy/<model>`), with
    dspy's cache off so every call reaches the server."""
    lm = setup(model="stand-in", local_api_base=server.url)
    lm.cache = False
    return lm


def reference_data(pairs: list[dict]) -> list[dict]:
    """The reference's row format; `flip` as the data stores it."""
    return [{"context": p["context"], "chosen": p["chosen"], "rejected": p["rejected"], "flip": p["flip"]}
            for p in pairs]


def both_orders(pairs: list[dict]) -> list[dict]:
    """Each pair as stored, then flipped: what the reference's `flip_augmentation` makes of it."""
    return [row for p in reference_data(pairs) for row in (p, {**p, "flip": not p["flip"]})]


def run_prbench(server, rows, tmp_path: Path, method: str, *overrides: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(tmp_path / "pairs.jsonl", [r for user in rows.values() for r in user])
    cfg = make_config(f"method={method}", "data=prism", f"data.path={data}", "split=column", "split.min_pairs=1",
                      "backend=openai", f"backend.base_url={server.url}", "model.name=stand-in", "logger=none",
                      f"cache.path={tmp_path / 'cache.sqlite'}", f"results_dir={tmp_path}", *overrides)
    return run(cfg, tmp_path / "runs" / method)


def test_default_judge_sends_the_references_requests(server, rows, tmp_path):
    import dspy

    with pytest.raises(NameError):  # 0.0.1's DefaultJudge cannot be built: its program is called directly
        DefaultJudge(lm=object())
    take(server)
    program, lm = LLMAsAJudgeProgram(), reference_lm(server)
    tests = [p for user in rows.values() for p in user if p["split"] == "test"]
    with dspy.context(lm=lm):
        for example in flip_augmentation(convert_df_to_dspy(pd.DataFrame(reference_data(tests)))):
            program(**example.inputs())
    reference = take(server)
    result = run_prbench(server, rows, tmp_path, "plain_reference")
    ours = take(server)
    assert len(messages(reference)) == 2 * len(tests) == result.summary["n_judgments"]
    assert result.summary["failures"] == 0
    assert_same_requests(reference, ours)


def reference_synthesizeme(server, rows, **options) -> list[dict]:
    """The package's own `SynthesizeMe` per user (its `setup()` LM, dspy's cache off), then its fitted program on
    the test pairs in both orders; the requests the server saw."""
    import dspy

    from baselines.reference.data import program_path

    take(server)
    for user, pairs in rows.items():
        split = {s: [p for p in pairs if p["split"] == s] for s in ("train", "val", "test")}
        rm = SynthesizeMe(user_id=user, model_id="stand-in", model_url=server.url,
                          persona_synthesis_program_path=program_path(PERSONA_PROGRAM), **options)
        rm.lm.cache = False
        with dspy.context(lm=rm.lm):
            rm.fit(reference_data(split["train"]), both_orders(split["val"]))
            with pytest.raises(AttributeError):  # 0.0.1's predict_pairwise calls a `.predict` the program lacks
                rm.predict_pairwise(split["test"][0]["context"], split["test"][0]["chosen"],
                                    split["test"][0]["rejected"])
            for example in convert_df_to_dspy(pd.DataFrame(both_orders(split["test"]))):
                rm.program(**example.inputs())
    return take(server)


def test_synthesizeme_sends_the_references_requests(server, rows, tmp_path):
    """Bootstrap, persona synthesis (the shipped program's ~20k-token prompt), the persona judge's search and
    its test verdicts: every request of the reference's own `SynthesizeMe.fit` is one prbench sends."""
    reference = reference_synthesizeme(server, rows)
    result = run_prbench(server, rows, tmp_path, "synthesizeme_reference",
                         f"method.params.persona_program={PERSONA_PROGRAM}")
    ours = take(server)

    persona_calls = [b for b in reference if "synthesized_persona" in b["messages"][0]["content"]]
    assert len(persona_calls) == len(USERS) and len(json.dumps(persona_calls[0])) > 60_000  # the shipped program
    assert any("FOLLOWING PERSONA" in b["messages"][0]["content"] for b in reference)
    assert_same_requests(reference, ours)
    fits = [json.loads(p.read_text())["state"] for p in (tmp_path / "runs" / "synthesizeme_reference" / "fit").glob(
        "llama*.json")]
    assert {f["persona_status"] for f in fits} == {"synthesized"} and result.summary["failures"] == 0


def test_a_search_that_stops_at_once_sends_no_bootstrap_requests(server, rows, tmp_path):
    """stop_at_score=0: each search ends after its first candidate, so the reference never bootstraps; prbench's
    prefetch of the bootstrap calls must send none either."""
    reference = reference_synthesizeme(server, rows, stop_at_score=0.0)
    run_prbench(server, rows, tmp_path, "synthesizeme_reference", f"method.params.persona_program={PERSONA_PROGRAM}",
                "method.params.stop_at_score=0.0")
    count = {s: sum(p["split"] == s for user in rows.values() for p in user) for s in ("val", "test")}
    # per search: zero-shot on val (both orders); one persona call per user; the test pairs: no bootstrap call
    assert len(messages(reference)) == 2 * 2 * count["val"] + len(rows) + 2 * count["test"]
    assert_same_requests(reference, take(server))


def test_one_changed_word_is_caught(server, rows, tmp_path, monkeypatch):
    """The comparison fails when prbench's prompt differs by one word from the reference's."""
    import baselines.reference.data as data

    reference = [{"messages": [{"role": "user", "content": "Which completion is better?"}], "max_tokens": 4096}]
    with pytest.raises(AssertionError):
        assert_same_requests(reference, [{**reference[0], "messages": [{"role": "user",
                                                                        "content": "Which completion is best?"}]}])
    take(server)
    run_prbench(server, rows, tmp_path / "a", "plain_reference")
    honest = take(server)
    real = data.format_conversation
    monkeypatch.setattr(data, "format_conversation", lambda c: real(c).replace("[user]:", "[human]:"))
    run_prbench(server, rows, tmp_path / "b", "plain_reference")
    with pytest.raises(AssertionError, match="only the reference sent"):
        assert_same_requests(honest, take(server))
