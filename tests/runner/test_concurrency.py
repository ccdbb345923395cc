"""Many users in flight: the same items, fit states and tables as one user at a time."""

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmark.runner.run import run

TIMING = {"seconds", "fit_seconds", "setup_seconds", "seconds_per_judgment", "wall_seconds", "users_in_flight",
          "requests_in_flight_mean", "requests_in_flight_max", "prompt_tokens_per_s", "run_name"}


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMING}
    return value


def outputs(folder: Path) -> dict:
    """Everything a run wrote that must not depend on completion order (wall-clock fields removed)."""
    items = sorted((json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()),
                   key=lambda r: (r["pair_id"], r["order"]))
    fits = {p.name: json.loads(p.read_text())["state"] for p in sorted((folder / "fit").glob("*.json"))}
    per_user = pd.read_csv(folder / "per_user.csv").drop(columns=["seconds", "fit_seconds"])
    per_user = per_user.astype(object).where(per_user.notna(), None)  # NaN != NaN
    return {"items": [_untimed(r) for r in items], "fits": fits, "per_user": per_user.to_dict("list"),
            "summary": _untimed(json.loads((folder / "summary.json").read_text()))}


def run_with(quick, name: str, *overrides: str) -> dict:
    cfg = quick(f"run_name={name}", *overrides)
    return outputs(run(cfg, Path(cfg.results_dir) / "runs" / name).folder)


@pytest.mark.parametrize("method", ["plain", "synthesizeme", "persona_memory"])
def test_concurrent_run_equals_one_user_at_a_time(quick, method):
    common = ("backend=mock", "backend.latency_s=0.002", f"method={method}", "split.max_users=8")
    one = run_with(quick, "one", *common, "users_in_flight=1")
    many = run_with(quick, "many", *common, "users_in_flight=8")
    assert len(one["items"]) >= 8 * 2 and len(one["fits"]) >= 8  # every user judged something, and fitted
    assert many == one


def test_summary_reports_requests_in_flight(quick):
    cfg = quick("backend=mock", "backend.latency_s=0.01", "split.max_users=6", "users_in_flight=6", "batch_size=4")
    summary = run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name).summary
    assert summary["users_in_flight"] == 6
    assert summary["requests_in_flight_max"] > 4  # more than one user's call of 4 at once
    assert 0 < summary["requests_in_flight_mean"] <= summary["requests_in_flight_max"]
    assert summary["prompt_tokens_per_s"] > 0


@pytest.mark.slow
def test_smollm2_concurrent_run_equals_one_user_at_a_time(quick):
    """A real model: users' requests are merged into shared batches, and the verdicts do not change (the
    probabilities only by float32 rounding: a batch's padding width changes the order of additions)."""
    from benchmark.models import Models

    # three users, two calls of two judgments each: while the engine serves one user's call, the other two
    # users' calls queue and go to the engine together
    common = ("backend=transformers", "backend.dtype=float32", "split.max_users=3", "split.test=2", "batch_size=2")
    one = run_with(quick, "one", *common, "users_in_flight=1")
    cfg = quick(*common)
    layer = Models(cfg.backend, cfg.model, cfg.cache).chat()  # the loaded model the runs share
    layer.coalescer.max_callers = 0
    many = run_with(quick, "many", *common, "users_in_flight=3")
    assert len(many["items"]) == 12
    assert layer.coalescer.max_callers >= 2  # batches held several users' requests
    assert [(r["pair_id"], r["order"], r["preferred"]) for r in many["items"]] == \
        [(r["pair_id"], r["order"], r["preferred"]) for r in one["items"]]
    assert [r["p_first"] for r in many["items"]] == pytest.approx([r["p_first"] for r in one["items"]], abs=1e-4)
    assert many["per_user"]["accuracy"] == one["per_user"]["accuracy"]
    assert many["fits"] == one["fits"]


def test_openai_backend_sends_many_users_requests_at_once(quick):
    """Against the fixed-latency stand-in server: the server holds requests of several users at once,
    and the run-wide limit `backend.max_concurrency` is never exceeded."""
    from benchmark.models.stand_in import StandInServer

    server = StandInServer(choice_s=0.05, generate_s=0.05).start()
    cfg = quick("backend=openai", f"backend.base_url={server.url}", "backend.max_concurrency=12", "batch_size=4",
                "split.max_users=6", "run_name=served")
    summary = run(cfg, Path(cfg.results_dir) / "runs" / "served").summary
    stats = server.in_flight.stats()
    assert summary["failures"] == 0 and server.requests["one_token"] == summary["n_judgments"] == 110
    assert 4 < stats["requests_in_flight_max"] <= 12  # more than one user's call of 4, never over the limit
    assert 4 < summary["requests_in_flight_max"] <= 12


def test_saves_after_users_never_wait_on_a_save_and_the_last_sees_the_latest():
    """The usage file is saved as users finish: a user finishing during a save returns at once, and the
    thread that is saving saves once more, so the file ends with the latest totals."""
    import threading

    from benchmark.runner.run import _latest_only

    state, saved, first_started, release = {"users": 0}, [], threading.Event(), threading.Event()

    def save():
        users = state["users"]  # what this save writes
        if not first_started.is_set():
            first_started.set()
            release.wait(10)
        saved.append(users)

    after_user = _latest_only(save)

    def finish_user():
        state["users"] += 1
        after_user()

    first = threading.Thread(target=finish_user)
    first.start()
    assert first_started.wait(10)
    for _ in range(3):  # would block here until `release` if callers waited on the save in progress
        finish_user()
    assert saved == []
    release.set()
    first.join(10)
    assert saved == [1, 4]  # one more save after the slow one, with all four users
    finish_user()
    assert saved == [1, 4, 5]
