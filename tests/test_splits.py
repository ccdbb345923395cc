"""User-stratified splits: deterministic, order-independent, every kept user in test."""

import random

import pytest

from benchmark.config import SplitConfig
from benchmark.data.validate import parse_pairs
from benchmark.errors import DataError
from benchmark.records import Benchmark
from benchmark.splits import split_benchmark, summarize
from tests.conftest import pair_row


def bench(rows):
    return Benchmark("t", parse_pairs(rows, source="t.jsonl", source_tag="t"))


def many(users=5, per_user=10, split=None):
    return [pair_row(u * 100 + i, user=f"u{u}", split=split) for u in range(users) for i in range(per_user)]


def ids(splits):
    return {s.user_id: tuple(tuple(p.pair_id for p in getattr(s, name)) for name in ("train", "val", "test"))
            for s in splits}


def test_resplit_is_seeded_and_independent_of_row_order():
    rows = many()
    cfg = SplitConfig(seed=3)
    first = ids(split_benchmark(bench(rows), cfg))
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    assert ids(split_benchmark(bench(shuffled), cfg)) == first
    assert ids(split_benchmark(bench(rows), SplitConfig(seed=4))) != first


def test_fractions_and_counts():
    splits = split_benchmark(bench(many(per_user=10)), SplitConfig(val=0.2, test=0.3))
    assert {(len(s.train), len(s.val), len(s.test)) for s in splits} == {(5, 2, 3)}
    splits = split_benchmark(bench(many(per_user=10)), SplitConfig(val=1, test=4))
    assert {(len(s.train), len(s.val), len(s.test)) for s in splits} == {(5, 1, 4)}


def test_min_pairs_drops_small_users_and_everyone_kept_has_test():
    rows = many(users=3, per_user=10) + [pair_row(900 + i, user="tiny") for i in range(4)]
    splits = split_benchmark(bench(rows), SplitConfig(min_pairs=5))
    assert [s.user_id for s in splits] == ["u0", "u1", "u2"]
    assert all(s.test for s in splits)
    assert "3 users" in summarize(splits)


def test_max_users_is_a_seeded_sample():
    a = split_benchmark(bench(many(users=8)), SplitConfig(max_users=3, seed=1))
    b = split_benchmark(bench(many(users=8)), SplitConfig(max_users=3, seed=1))
    assert [s.user_id for s in a] == [s.user_id for s in b] and len(a) == 3


def test_column_strategy_uses_the_dataset_split():
    rows = [pair_row(i, split=s) for i, s in enumerate(["train"] * 4 + ["val", "test"])]
    (only,) = split_benchmark(bench(rows), SplitConfig())  # auto → column
    assert (len(only.train), len(only.val), len(only.test)) == (4, 1, 1)


def test_user_without_test_pairs_is_an_error_unless_dropped():
    rows = [pair_row(i, split="train") for i in range(6)] + [pair_row(10 + i, user="u2", split="test")
                                                           for i in range(6)]
    with pytest.raises(DataError, match="user 'u1' has no test pairs"):
        split_benchmark(bench(rows), SplitConfig(strategy="column"))
    kept = split_benchmark(bench(rows), SplitConfig(strategy="column", drop_users_without_test=True))
    assert [s.user_id for s in kept] == ["u2"]


def test_column_strategy_without_column_is_an_error():
    with pytest.raises(DataError, match="no split value"):
        split_benchmark(bench(many()), SplitConfig(strategy="column"))


def test_bad_fractions_are_config_errors():
    from benchmark.config import parse_section
    from benchmark.errors import ConfigError

    with pytest.raises(ConfigError, match="split"):
        parse_section(SplitConfig, {"val": 0.5, "test": 0.6}, "split")


def test_a_partly_filled_split_column_is_an_error_naming_the_rows():
    """One null `split` under split=auto used to re-split the whole dataset without a word."""
    rows = many(split="train")
    rows[12]["split"] = None
    rows[30].pop("split")
    with pytest.raises(DataError, match=r"2 of 50 pairs have no split value \(rows 13, 31\)") as error:
        split_benchmark(bench(rows), SplitConfig())
    assert error.value.field == "split"
    assert split_benchmark(bench(rows), SplitConfig(strategy="resplit"))  # the way out it names
