"""Loaders: the published PersonalRewardBench sets from every local format, the hub error, the demo."""

import json

import pandas as pd
import pytest

from benchmark.config import DataConfig
from benchmark.data import load_benchmark
from benchmark.errors import DataError
from tests.conftest import SHARED, make_config, pair_row, write_jsonl

JUDGE = "meta-llama/Llama-3.3-70B-Instruct"


def prb_rows():
    """Rows in the PersonalRewardBench schema (see shared/schemas/personalrewardbench.md)."""
    rows = []
    for i, split in enumerate(["train", "train", "val", "test", "test"]):
        rows.append({"conversation_id": f"c{i}", "user_id": "user584",
                     "context": [{"content": f"prompt {i}", "role": "user"}],
                     "chosen": {"content": f"chosen {i}", "role": "model"},
                     "rejected": {"content": f"rejected {i}", "role": "model"},
                     "turns": 1, "type": "unguided", "split": split, "flip": i % 2 == 0,
                     "chosen_score": 80.0, "rejected_score": 20.0,
                     f"prediction_{JUDGE}": "First", f"prediction_flip_{JUDGE}": "Second"})
    return rows


def prb_config(path):
    cfg = make_config("data=prism", f"data.path={path}")
    return DataConfig(**cfg.data)


def check(bench):
    assert len(bench.pairs) == 5 and bench.user_ids == ["user584"]
    assert [p.split for p in bench.pairs] == ["train", "train", "val", "test", "test"]
    assert bench.pairs[0].meta[f"prediction_{JUDGE}"] == "First"
    assert bench.pairs[0].meta["chosen_score"] == 80.0
    assert bench.pairs[0].context[0].role == "user" and bench.pairs[0].chosen == "chosen 0"


def test_jsonl(tmp_path):
    check(load_benchmark(prb_config(write_jsonl(tmp_path / "prism.jsonl", prb_rows()))))


def test_parquet_file_and_folder(tmp_path):
    pd.DataFrame(prb_rows()).to_parquet(tmp_path / "train-00000-of-00001.parquet")
    check(load_benchmark(prb_config(tmp_path / "train-00000-of-00001.parquet")))
    check(load_benchmark(prb_config(tmp_path)))


def test_saved_dataset_dict(tmp_path):
    import datasets

    rows = prb_rows()
    ds = datasets.DatasetDict({"test": datasets.Dataset.from_list(rows[3:]),
                               "train": datasets.Dataset.from_list(rows[:3])})
    ds.save_to_disk(str(tmp_path / "saved"))
    bench = load_benchmark(prb_config(tmp_path / "saved"))
    assert sorted(p.split for p in bench.pairs) == sorted(r["split"] for r in rows)
    assert len({p.pair_id for p in bench.pairs}) == 5


def test_offline_hub_error_shows_the_way_out(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = make_config("data=chatbot_arena")
    with pytest.raises(DataError) as error:
        load_benchmark(DataConfig(**cfg.data))
    text = str(error.value)
    assert "MichaelR207/chatbot_arena_personalized_0125" in text and "data.path=" in text
    assert "save_to_disk" in text


def test_bad_file_is_named(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(pair_row(0)) + "\n{not json\n")
    with pytest.raises(DataError, match=r"broken.jsonl, row 2"):
        load_benchmark(prb_config(path))
    with pytest.raises(DataError, match="no such file"):
        load_benchmark(prb_config(tmp_path / "missing.parquet"))


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this checkout")
def test_schema_doc_names_the_columns_we_read():
    """The columns this loader relies on are the ones the product's schema reference lists."""
    doc = (SHARED / "schemas" / "personalrewardbench.md").read_text()
    for column in ("user_id", "context", "chosen", "rejected", "split", "prediction_<m>"):
        assert f"`{column}`" in doc


def test_demo_is_bundled():
    bench = load_benchmark(DataConfig(**make_config().data))
    assert len(bench.user_ids) == 60 and len(bench.pairs) == 1865
    assert all(p.persona_truth for p in bench.profiles.values())


@pytest.mark.parametrize("name,content,message", [
    ("latin1.jsonl", json.dumps(pair_row(0)).encode() + b"\n" + json.dumps(pair_row(1, chosen="caf\u00e9")).encode(
        "utf-8").replace(b"\\u00e9", b"\xe9") + b"\n", r"latin1.jsonl, row 2: not UTF-8 text"),
    ("latin1.json", b'[{"user_id": "caf\xe9"}]', r"latin1.json: not UTF-8 text"),
    ("notjson.json", b"user_id,context\nu1,hi\n", r"notjson.json: invalid JSON: Expecting value \(line 1, column 1\)"),
    ("objects.json", b'[{"user_id": "u"}, 3]', r"objects.json, row 2: each element must be a JSON object"),
    ("garbage.parquet", b"PAR1 this is not parquet", r"garbage.parquet: not a readable parquet file"),
])
def test_unreadable_files_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        load_benchmark(prb_config(path))
    assert "\n" not in str(error.value)
