"""Bad input gives an error naming the file, row and field."""

import pytest

from benchmark.data.validate import parse_pairs
from benchmark.errors import DataError
from tests.conftest import pair_row


def parse(rows):
    return parse_pairs(rows, source="bad.jsonl", source_tag="test")


@pytest.mark.parametrize("row,field,message", [
    ({k: v for k, v in pair_row(1).items() if k != "chosen"}, "chosen", "missing column"),
    (pair_row(1, user_id=7), "user_id", "non-empty string"),
    (pair_row(1, chosen=3.5), "chosen", "expected text"),
    (pair_row(1, chosen="   "), "chosen", "empty"),
    (pair_row(1, rejected="good answer 1"), "rejected", "identical"),
    (pair_row(1, split="validation"), "split", "unknown split value 'validation'"),
    (pair_row(1, context=[{"role": "robot", "content": "hi"}]), "context", "unknown message role 'robot'"),
    (pair_row(1, context="just a string"), "context", "list of messages"),
    (pair_row(1, context=[]), "context", "empty"),
    (pair_row(1, context=[{"role": "user", "content": 5}]), "context", "content must be a string"),
    (pair_row(1, context=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]), "context",
     "context ends with an 'assistant' turn"),
])
def test_bad_row_is_located(row, field, message):
    rows = [pair_row(0), row]
    with pytest.raises(DataError, match=message) as error:
        parse(rows)
    assert (error.value.source, error.value.row, error.value.field) == ("bad.jsonl", 2, field)  # rows are 1-based
    assert "bad.jsonl" in str(error.value) and "row 2" in str(error.value) and f"'{field}'" in str(error.value)


def test_duplicate_pair_ids_name_both_rows():
    with pytest.raises(DataError, match=r"duplicate pair id 'p0' \(first seen at row 1\)") as error:
        parse([pair_row(0), pair_row(1), pair_row(0, chosen="other")])
    assert error.value.row == 3


def test_published_shapes_are_accepted():
    """PRISM's `model` role, responses as messages or one-message lists, no pair id, extra columns."""
    row = {"user_id": "user7", "conversation_id": "c10",
           "context": [{"role": "user", "content": "Name a cat?"}, {"role": "model", "content": "Miso."},
                       {"role": "user", "content": "Another?"}],
           "chosen": {"role": "model", "content": "Luna."}, "rejected": [{"role": "model", "content": "Rex."}],
           "split": "val", "prediction_gpt": "First"}
    (pair,) = parse([row])
    assert [m.role for m in pair.context] == ["user", "assistant", "user"]
    assert (pair.chosen, pair.rejected, pair.split) == ("Luna.", "Rex.", "val")
    assert pair.meta["prediction_gpt"] == "First" and pair.meta["conversation_id"] == "c10"
    assert pair.pair_id.startswith("user7-")
    (again,) = parse([dict(reversed(list(row.items())))])
    assert again.pair_id == pair.pair_id


def test_no_rows_is_an_error():
    with pytest.raises(DataError, match="no rows"):
        parse([])
