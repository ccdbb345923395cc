"""Bad text is a clear error, never a traceback and never silently replaced: non-UTF-8 bytes in a regress
baseline or a run's files, a lone surrogate (`"\\ud800"` in JSON) in a data text or user id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.models.layer import RequestCache
from benchmark.runs import state_path
from tests.faults.helpers_data import assert_one_line_error, dataset, prbench, rows, run_on, tool, write_jsonl

LATIN_1 = b'{"format": 3, "methods": {"caf\xe9": {}}}\n'  # "café" in Latin-1: not UTF-8


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_text")
    return run_on(tmp / "results", dataset(tmp / "data.jsonl"), "a")


def test_a_non_utf8_regress_baseline_is_named_not_a_traceback(finished, tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(LATIN_1)
    assert_one_line_error(tool("benchmark.regress.main", "--baseline", baseline, "--run", finished),
                          "prbench-regress", f"file {baseline}: not UTF-8 text (line 1, byte 31)")


@pytest.mark.parametrize("name", ["config.yaml", "per_user.csv"])
def test_a_non_utf8_file_in_a_run_folder_is_named_by_compare_and_regress(finished, tmp_path, name):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(finished, damaged)
    with (damaged / name).open("ab") as f:
        f.write(b"caf\xe9\n")
    assert_one_line_error(tool("benchmark.compare.main", finished, damaged), "prbench-compare",
                          f"file {damaged / name}: not UTF-8 text")
    assert_one_line_error(tool("benchmark.regress.main", "--baseline", tmp_path / "b.json", "--run", damaged,
                               "--write"), "prbench-regress", f"file {damaged / name}: not UTF-8 text")


def lone_surrogate_in(field: str, row: dict) -> dict:
    if field == "context":
        row["context"] = [{"role": "user", "content": "half an emoji \ud83d here"}]
    else:
        row[field] = row[field] + "\ud800"
    return row


@pytest.mark.parametrize("field", ["chosen", "user_id", "context"])
def test_a_lone_surrogate_in_the_data_is_named_with_file_row_and_field(tmp_path, field):
    data = rows()
    data[4] = lone_surrogate_in(field, data[4])
    path = write_jsonl(tmp_path / "data.jsonl", data)  # json.dumps writes it as the escape \ud800
    assert "\\ud8" in path.read_text()
    result = prbench(tmp_path / "results", "data=prism", f"data.path={path}", "method=longer")
    assert_one_line_error(result, "prbench", f"file {path}, row 5, field '{field}': text is not valid Unicode")


def test_a_lone_surrogate_in_a_json_list_file_is_named(tmp_path):
    data = rows()
    data[2]["rejected"] = "\udc00 trailing half"
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = prbench(tmp_path / "results", "data=prism", f"data.path={path}", "method=longer")
    assert_one_line_error(result, "prbench", f"file {path}, row 3, field 'rejected': text is not valid Unicode")


def test_escaped_surrogate_pairs_are_text_and_run(tmp_path):
    data = rows()
    data[4]["chosen"] = "an emoji \ud83d\ude00 written as a JSON surrogate pair"
    path = write_jsonl(tmp_path / "data.jsonl", data)
    assert "\\ud83d\\ude00" in path.read_text()
    run = run_on(tmp_path / "results", path, "emoji")
    assert json.loads((run / "summary.json").read_text())["n_judgments"] == 12


def test_request_keys_and_fit_files_take_any_string():
    """Defence in depth (a model's reply fed back into a prompt may hold a lone surrogate): no crash, distinct
    names, and valid text keyed exactly as before."""
    assert RequestCache.key({"prompt": "caf\ud800"}) != RequestCache.key({"prompt": "caf\ud801"})
    assert RequestCache.key({"prompt": "café"}) == \
        "1eaacc8ded8b49a7fc491f29b8827722f0e187f144b4995a8000b66b8c8f3485"  # the key this text always had
    assert state_path(Path("fit"), "u\ud800") != state_path(Path("fit"), "u\ud801")
    assert state_path(Path("fit"), "u/1 é") == Path("fit/u%2F1%20%C3%A9.json")
