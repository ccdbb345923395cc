"""The bundled demo benchmark: reproducible from its script, and its labels follow the known weights."""

import json
import subprocess
import sys

import numpy as np

from benchmark.data.loaders import demo_dir
from benchmark.methods import Method, visible_profile
from benchmark.records import UserProfile
from tests.conftest import ROOT


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_generator_reproduces_the_bundled_files(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_demo.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("pairs.jsonl", "users.jsonl"):
        assert (tmp_path / name).read_bytes() == (demo_dir() / name).read_bytes(), name


def test_labels_follow_user_weights():
    """Everyone picks the helpful answer in agreed pairs; in the rest, users disagree by their weights."""
    users = {u["user_id"]: u for u in read(demo_dir() / "users.jsonl")}
    pairs = read(demo_dir() / "pairs.jsonl")
    assert len(users) == 60 and 1700 <= len(pairs) <= 2000
    per_user = np.bincount(np.unique([p["user_id"] for p in pairs], return_inverse=True)[1])
    # long-tailed like the real sets: everyone has the 5 the split needs, a few users have many more
    assert per_user.min() == 5 and per_user.max() == 100 and np.median(per_user) < per_user.mean()
    agreed = [p for p in pairs if p["kind"] == "agreed"]
    assert 0.15 <= len(agreed) / len(pairs) <= 0.25
    assert np.mean([p["p_chosen"] > 0.5 for p in agreed]) > 0.85  # one style trait can outweigh quality
    # Users disagree: among users who strongly like vs dislike humour, the joking answer wins for one group.
    joke = "😄"
    def joke_rate(sign):
        won = [joke in p["chosen"] for p in pairs if p["kind"] == "disagreed"
               and (joke in p["chosen"]) != (joke in p["rejected"])
               and sign * users[p["user_id"]]["weights"]["humour"] > 1.5]
        return np.mean(won)
    assert joke_rate(+1) > 0.75 and joke_rate(-1) < 0.25


def test_persona_truth_is_hidden_from_non_oracle_methods():
    profile = UserProfile("u", persona_truth="likes jokes")

    class Plain(Method):
        def judge(self, items, state):
            return []

    class Oracle(Plain):
        reads_oracle = True

    assert visible_profile(Plain(None, None), profile).persona_truth is None
    assert visible_profile(Oracle(None, None), profile).persona_truth == "likes jokes"
