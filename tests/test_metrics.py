"""The reference protocol, by hand: ties and failures are wrong, CIs resample users."""

import numpy as np
import pandas as pd
import pytest

from benchmark.metrics import items_frame, per_user_table, summarize, user_bootstrap
from benchmark.stats import paired_user_difference


def record(user, pair, order, preferred, p_first=None):
    chosen_side = "first" if order == "AB" else "second"
    p_chosen = None if p_first is None else (p_first if order == "AB" else 1 - p_first)
    return {"pair_id": pair, "user_id": user, "order": order, "preferred": preferred,
            "correct": preferred == chosen_side, "p_first": p_first, "p_chosen": p_chosen, "raw": None,
            "cost": {"calls": 1, "prompt_tokens": 10, "completion_tokens": 0, "seconds": 0.5}}


@pytest.fixture
def items():
    return items_frame([
        # u1: pair a right both ways; pair b: tie then fail → 2/4
        record("u1", "a", "AB", "first", 0.9), record("u1", "a", "BA", "second", 0.2),
        record("u1", "b", "AB", "tie", 0.5), record("u1", "b", "BA", "fail"),
        # u2: one pair, always "first" (position bias) → 1/2, inconsistent
        record("u2", "c", "AB", "first", 0.6), record("u2", "c", "BA", "first", 0.6),
    ])


def test_per_user_accuracy_by_hand(items):
    table = per_user_table(items, n_boot=200)
    u1, u2 = table.iloc[0], table.iloc[1]
    assert (u1.accuracy, u1.n_test, u1.n_judgments, u1.failures, u1.ties) == (0.5, 2, 4, 1, 1)
    assert u1.order_consistency == 0.5 and u2.order_consistency == 0.0
    assert u2.accuracy == 0.5
    assert u1.soft_accuracy == pytest.approx((0.9 + 0.8 + 0.5 + 0.0) / 4)  # a failure earns nothing
    assert u1.calls == 4 and u1.seconds == 2.0


def test_summary_by_hand(items):
    table = per_user_table(items, n_boot=200)
    s = summarize(items, table, n_boot=200)
    assert s["micro_accuracy"] == pytest.approx(3 / 6)
    assert s["macro_accuracy"] == pytest.approx((0.5 + 0.5) / 2)
    assert (s["failures"], s["ties"], s["n_users"], s["n_pairs"]) == (1, 1, 2, 3)
    assert s["order_consistency"] == pytest.approx(1 / 3)
    assert s["macro_ci"][0] <= s["macro_accuracy"] <= s["macro_ci"][1]


def test_bootstrap_resamples_users_not_items():
    """One user right on everything, one wrong on everything: user resampling gives a wide CI whatever
    the number of items, where an item bootstrap would shrink with more items."""
    for n in (10, 1000):
        ci = user_bootstrap(np.array([n, 0.0]), np.array([n, n], dtype=float), 2000, 0)["macro"]
        assert ci[0] == 0.0 and ci[1] == 1.0
    micro = user_bootstrap(np.array([90.0, 10.0]), np.array([100.0, 100.0]), 2000, 0)["micro"]
    assert micro == pytest.approx([0.1, 0.9])  # an item bootstrap would give about 0.5 ± 0.07



def test_paired_difference_refuses_different_users():
    a = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "accuracy": [1.0, 0.5, 0.75]})
    with pytest.raises(ValueError, match="different users"):
        paired_user_difference(a, a.iloc[:2])
