"""The reference protocol, by hand: ties and failures are wrong, CIs resample users."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from benchmark.metrics import items_frame, per_user_table, summarize, user_bootstrap
from benchmark.report import format_summary
from benchmark.stats import clopper_pearson, paired_user_difference


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
    """Users right on everything or wrong on everything: user resampling gives a wide CI whatever the number
    of items, where an item bootstrap would shrink with more items."""
    for n in (10, 1000):
        ci = user_bootstrap(np.array([n, 0.0]), np.array([n, n], dtype=float), 2000, 0)["macro"]
        assert ci[0] == 0.0 and ci[1] == 1.0
    micro = user_bootstrap(np.repeat([90.0, 10.0], 20), np.full(40, 100.0), 2000, 0)["micro"]
    assert micro[0] < 0.4 and micro[1] > 0.6  # an item bootstrap would give about 0.5 ± 0.02


def test_small_user_counts_get_a_wider_ci_and_a_note(items):
    rng = np.random.default_rng(0)
    correct, count = rng.integers(2, 9, 8).astype(float), np.full(8, 8.0)
    plain = np.percentile([(correct / count)[rng.integers(0, 8, 8)].mean() for _ in range(2000)], [2.5, 97.5])
    widened = user_bootstrap(correct, count, 2000, 0)["macro"]
    assert widened[0] < plain[0] - 0.01 and widened[1] > plain[1] + 0.01
    s = summarize(items, per_user_table(items), n_boot=200)
    assert "only 2 users" in s["ci_note"]


def exact_coverage(n_pairs, p, consistent):
    """Coverage of the per-user CI for a user of true accuracy p: both orders agree (score K/n, K ~ Bin(n, p))
    or are independent (score K/2n, K ~ Bin(2n, p))."""
    trials = n_pairs if consistent else 2 * n_pairs
    k = np.arange(trials + 1)
    hits = [lo <= p <= hi for lo, hi in (clopper_pearson(j * n_pairs / trials, n_pairs) for j in k)]
    return float(binom.pmf(k, trials, p) @ np.array(hits))


def test_per_user_intervals_cover_at_four_to_ten_pairs():
    for n_pairs in range(4, 11):
        for p in np.linspace(0.02, 0.98, 49):
            for consistent in (True, False):
                assert exact_coverage(n_pairs, p, consistent) >= 0.93, (n_pairs, p, consistent)


def test_per_user_table_uses_the_exact_interval_never_zero_width():
    rows = [record("u1", f"p{i}", order, "first" if order == "AB" else "second") for i in range(4)
            for order in ("AB", "BA")]
    table = per_user_table(items_frame(rows))
    assert table.loc[0, "accuracy"] == 1.0
    assert (table.loc[0, "ci_low"], table.loc[0, "ci_high"]) == pytest.approx(clopper_pearson(4, 4))
    assert table.loc[0, "ci_low"] < 0.5  # 4 of 4 pairs is no proof of a perfect user model


def test_soft_accuracy_is_not_available_without_probabilities_and_degenerate_judges_are_flagged():
    always_first = items_frame([record(u, f"{u}{i}", o, "first") for u in ("u1", "u2") for i in range(3)
                                for o in ("AB", "BA")])
    table = per_user_table(always_first)
    s = summarize(always_first, table, n_boot=200)
    assert s["soft_accuracy"] is None and table["soft_accuracy"].isna().all()
    assert s["degenerate"] == "first" and s["macro_accuracy"] == 0.5
    assert "degenerate: always 'first'" in format_summary({**s, "run_name": "x", "data": "d", "method": "m",
                                                          "model": "m", "fit_seconds": 0.0})
    assert "soft accuracy n/a" in format_summary({**s, "data": "d", "method": "m", "model": "m", "fit_seconds": 0.0})


def test_summary_flags_nothing_for_a_normal_judge(items):
    s = summarize(items, per_user_table(items), n_boot=200)
    assert s["degenerate"] is None and s["soft_accuracy"] is not None


def test_paired_difference_refuses_different_users():
    a = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "accuracy": [1.0, 0.5, 0.75]})
    with pytest.raises(ValueError, match="different users"):
        paired_user_difference(a, a.iloc[:2])
