"""A tiny synthetic population for the learned personalized RMs (VPL, PAL, GPO): two groups of users
with opposite tastes on one planted trait, everyone preferring a second, shared trait; no real model."""

from __future__ import annotations

import re
import zlib
from types import SimpleNamespace

import numpy as np

from benchmark.methods import UserData
from benchmark.records import JudgeItem, Message, PreferencePair, UserProfile

DIM = 8


class PlantedEmbedder:
    """Text "t<taste> q<quality> n<noise id>" -> [taste, quality, noise...]: a stand-in for MiniLM."""

    name = "planted"

    def encode(self, texts):
        rows = []
        for text in texts:
            fields = dict(re.findall(r"\b([tq])(-?\d+)\b", text))
            noise = np.random.default_rng(zlib.crc32(text.encode())).normal(0, 0.3, DIM - 2)
            rows.append(np.r_[float(fields.get("t", 0)), float(fields.get("q", 0)), noise])
        return np.asarray(rows, np.float32).reshape(len(texts), DIM)

    encode_paragraphs = encode


def planted_models():
    return SimpleNamespace(embedder=lambda: PlantedEmbedder(),
                           model=SimpleNamespace(embedder="planted", name="planted"),
                           backend=SimpleNamespace(kind="planted"))


def planted_users(n_users: int = 24, n_pairs: int = 16, seed: int = 0) -> tuple[list[UserData], dict]:
    """Users and each one's held-out pairs. Odd users like taste +1, even ones taste -1."""
    rng = np.random.default_rng(seed)
    users, held_out = [], {}
    for u in range(n_users):
        sign = 1 if u % 2 else -1
        pairs = []
        for k in range(n_pairs):
            ta, tb = rng.choice([-1, 1], 2)
            qa, qb = rng.choice([0, 1], 2)
            a, b = f"t{ta} q{qa} n{u}-{k}a", f"t{tb} q{qb} n{u}-{k}b"
            score = sign * (ta - tb) + 2 * (qa - qb)
            a_wins = score > 0 or (score == 0 and rng.random() < 0.5)
            chosen, rejected = (a, b) if a_wins else (b, a)
            ctx = (Message("user", f"question {k}"),)
            pairs.append(PreferencePair(f"u{u}-{k}", f"u{u}", ctx, chosen, rejected))
        cut = n_pairs * 3 // 4
        users.append(UserData(f"u{u}", tuple(pairs[:cut]), (), UserProfile(f"u{u}")))
        held_out[f"u{u}"] = pairs[cut:]
    return users, held_out


def informative(pair: PreferencePair) -> bool:
    """A pair whose two responses differ in the planted taste (where users disagree)."""
    return pair.chosen.split()[0] != pair.rejected.split()[0]


def held_out_accuracy(method, users, held_out) -> float:
    """Accuracy on the held-out pairs that differ in taste, chosen response shown first and second."""
    correct = []
    for user in users:
        pairs = [p for p in held_out[user.user_id] if informative(p)]
        state = method.fit(user)
        items = [JudgeItem.from_pair(p, o) for p in pairs for o in ("AB", "BA")]
        for item, verdict in zip(items, method.judge(items, state)):
            truth = "first" if item.first == next(p.chosen for p in pairs if p.pair_id == item.pair_id) else "second"
            correct.append(verdict.preferred == truth)
    return float(np.mean(correct))


def build(kind: str, workdir, **params):
    """A learned method on the planted embedder, its files under `workdir`."""
    from benchmark.methods import method_class

    cls = method_class(kind)  # loaded through the package's entry points
    method = cls(cls.Params(**params), planted_models())
    method.workdir = workdir
    return method


def check_learns_planted_taste(kind: str, tmp_path, n_users: int = 24, **params) -> float:
    users, held_out = planted_users(n_users=n_users)
    method = build(kind, tmp_path, **params)
    method.restore(method.setup(users))
    return held_out_accuracy(method, users, held_out)


def check_learns_unseen_users_taste(kind: str, tmp_path, n_users: int = 24, **params) -> float:
    """Half the users are kept out of training (`unseen_fraction=0.5`): the accuracy on *their* held-out
    pairs, each adapted from their own train pairs alone. Also checks that training never saw them."""
    users, held_out = planted_users(n_users=n_users)
    method = build(kind, tmp_path, unseen_fraction=0.5, **params)
    shared = method.setup(users)
    unseen = set(shared["unseen_users"])
    assert len(unseen) == n_users // 2 and shared["n_users"] == n_users - len(unseen)
    method.restore(shared)
    strangers = [u for u in users if u.user_id in unseen]
    assert all(method.fit(u)["seen_in_training"] is False for u in strangers[:1])
    return held_out_accuracy(method, strangers, held_out)


def check_reload_is_identical(kind: str, tmp_path, **params) -> None:
    """A fresh instance restored from the saved state scores exactly as the trained one; tampered
    weights are refused."""
    import json

    import pytest

    from benchmark.errors import RunError

    users, held_out = planted_users(n_users=6)
    trained = build(kind, tmp_path, **params)
    shared = json.loads(json.dumps(trained.setup(users)))  # as the runner persists it
    trained.restore(shared)
    user = users[1]
    items = [JudgeItem.from_pair(p, o) for p in held_out[user.user_id] for o in ("AB", "BA")]
    state = json.loads(json.dumps(trained.fit(user)))
    before = [j.margin for j in trained.judge(items, state)]
    again = build(kind, tmp_path, **params)
    again.restore(shared)
    assert [j.margin for j in again.judge(items, json.loads(json.dumps(again.fit(user))))] == before
    weights = tmp_path / shared["weights"]
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(RunError, match="weights changed"):
        build(kind, tmp_path, **params).restore(shared)


def check_real_run_resumes_without_retraining(method: str, tmp_path, monkeypatch, *overrides: str) -> None:
    """On the demo with real MiniLM embeddings: a run finishes with no failures, and a resumed run
    neither re-trains nor re-fits, and reproduces the same margins."""
    import json

    from benchmark.methods import method_class
    from benchmark.runner.run import run
    from tests.conftest import make_config

    args = ("logger=none", f"method={method}", "split.max_users=8", f"results_dir={tmp_path}",
            f"cache.path={tmp_path}/cache.sqlite", *overrides)
    first = run(make_config(*args), tmp_path / "run")
    assert first.summary["failures"] == 0 and first.summary["order_consistency"] == 1.0
    items = (tmp_path / "run" / "items.jsonl").read_text().splitlines()
    (tmp_path / "run" / "items.jsonl").unlink()
    cls = method_class(make_config(*args).method.kind)

    def refuse(*_):
        raise AssertionError("a resumed run must not train again")

    monkeypatch.setattr(cls, "setup", refuse)
    monkeypatch.setattr(cls, "fit", refuse)
    again = run(make_config(*args, "resume=true"), tmp_path / "run")
    assert again.per_user["accuracy"].tolist() == first.per_user["accuracy"].tolist()
    margins = lambda lines: sorted((r["pair_id"], r["order"], r["margin"]) for r in map(json.loads, lines))
    assert margins((tmp_path / "run" / "items.jsonl").read_text().splitlines()) == margins(items)
