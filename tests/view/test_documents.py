"""The viewer's documents, its static export, server and command, without a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.data.loaders import demo_dir
from benchmark.errors import PrbenchError
from benchmark.view.documents import Viewer, train_bins
from benchmark.view.export import export_viewer
from benchmark.view.jsdata import abbreviate, js_put
from benchmark.view.server import serve, url
from benchmark.view.sources import reads_oracle, user_key
from tests.view.conftest import ODD_USER, XSS


def registered(source: bytes) -> tuple[str, object]:
    """What a document file hands to PRB.put, read back the way a browser's JS parser would."""
    match = re.fullmatch(rb'PRB\.put\(("[^"]*"),(.*)\);\n', source, re.S)
    assert match, source[:80]
    return json.loads(match.group(1)), json.loads(match.group(2).decode("utf-8"))  # \u escapes are JSON too


def items_of(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]


def test_js_files_cannot_end_their_script_and_keep_every_text():
    value = {"text": "</script><script>alert(1)</script> <!-- \u2028\u2029 \ud800 é 😀", "n": [1.5, None]}
    source = js_put("u/ab/cd", value)
    assert b"</script" not in source and b"<!--" not in source and "\u2028".encode() not in source
    source.decode("utf-8")  # a lone surrogate is escaped, not an encoding error
    key, back = registered(source)
    assert key == "u/ab/cd" and back == value


def test_fit_states_keep_texts_and_summarise_long_numbers():
    state = {"about_user": "likes <b>terse</b> answers", "w": list(np.linspace(-1, 1, 384)), "k": [1, 2, 3],
             "demos": [{"pair_id": "p1", "chosen": "x" * 5000}]}
    shown = abbreviate(state)
    assert shown["about_user"] == state["about_user"] and shown["k"] == [1, 2, 3] and shown["demos"] == state["demos"]
    assert shown["w"]["$numbers"] == 384 and shown["w"]["min"] == -1 and shown["w"]["max"] == 1
    assert len(shown["w"]["head"]) == 8


def test_training_pair_bins_hold_every_user_once_and_never_split_a_value():
    rng = np.random.default_rng(1)
    n_train = rng.integers(5, 100, size=723)
    n_train[:50] = 12  # many users with the same count
    accuracy = rng.random(723)
    bins = train_bins(n_train, accuracy)
    assert 2 <= len(bins) <= 8 and sum(b["users"] for b in bins) == 723
    assert all(a["hi"] < b["lo"] for a, b in zip(bins, bins[1:]))  # disjoint ranges: 12 is in one bin
    for b in bins:
        inside = accuracy[(n_train >= b["lo"]) & (n_train <= b["hi"])]
        assert len(inside) == b["users"] and b["mean"] == pytest.approx(inside.mean())
        assert b["ci"][0] <= b["mean"] <= b["ci"][1]
    assert len(train_bins(np.array([8, 20, 25, 60, 13, 32, 41, 100]), np.linspace(0, 1, 8))) == 3  # not 8 points


def test_oracle_rule_follows_the_methods_own_classes():
    assert reads_oracle({"kind": "persona", "params": {"variant": "oracle"}})
    assert not reads_oracle({"kind": "persona", "params": {"variant": "memory"}})
    assert reads_oracle({"kind": "classifier_rm", "params": {"context": {"source": "oracle"}}})
    assert not reads_oracle({"kind": "classifier_rm", "params": {}})
    assert not reads_oracle({"kind": "longer", "params": {}})
    assert reads_oracle({"kind": "not-installed-anywhere", "params": {"variant": "oracle"}})  # the config's word
    assert not reads_oracle({"kind": "not-installed-anywhere", "params": {}})


def test_documents_hold_the_runs_numbers_and_verdicts(view_results, reference):
    viewer = Viewer(view_results, reference)
    index = viewer.document("index")
    assert sorted(r["id"] for r in index["runs"]) == ["demo/longer", "demo/persona_memory", "demo/persona_oracle",
                                                       "gone/longer", "xss/persona_memory"]
    entry = next(e for e in viewer.entries if e.id == "demo/persona_memory")
    doc = viewer.document(f"run/{entry.key}")
    table = pd.read_csv(entry.folder / "per_user.csv", dtype={"user_id": str})
    assert [u["user_id"] for u in doc["users"]] == table["user_id"].tolist()
    assert [u["accuracy"] for u in doc["users"]] == pytest.approx(table["accuracy"].tolist(), abs=1e-6)
    user = table["user_id"][0]
    page = viewer.document(f"u/{entry.key}/{user_key(user)}")
    expected = {(r["pair_id"], r["order"]): r for r in items_of(entry.folder) if r["user_id"] == user}
    shown = {(p, o): v for p, orders in page["verdicts"].items() for o, v in orders.items()}
    assert shown.keys() == expected.keys()
    for key, record in expected.items():
        assert shown[key]["preferred"] == record["preferred"] and shown[key]["correct"] == record["correct"]
        assert shown[key]["p_chosen"] == pytest.approx(record["p_chosen"], rel=1e-5)
        assert shown[key]["raw"] == record["raw"]
    assert page["fit"]["state"]["memory"]  # what the method was sent: its memory of past choices
    texts = viewer.document(page["texts"])
    pairs = {json.loads(line)["pair_id"]: json.loads(line)
             for line in (demo_dir() / "pairs.jsonl").read_text().splitlines()}
    for pair in texts["pairs"]:
        assert (pair["chosen"], pair["rejected"]) == (pairs[pair["id"]]["chosen"], pairs[pair["id"]]["rejected"])
    assert {p["id"] for p in texts["pairs"] if p["split"] == "test"} == {p for p, _ in expected}


def test_a_model_output_with_other_line_separators_reads_back_whole(view_results, tmp_path):
    """items.jsonl is split at "\\n" only, as the runner reads it: U+2028 or U+0085 in a text ends no line."""
    results = tmp_path / "results"
    shutil.copytree(view_results / "runs" / "demo" / "longer", results / "runs" / "demo" / "longer")
    folder = results / "runs" / "demo" / "longer"
    records = items_of(folder)
    records[0]["raw"] = "one\u2028two\x85three"
    (folder / "items.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                        encoding="utf-8")
    viewer = Viewer(results)
    page = viewer.document(f"u/{viewer.entries[0].key}/{user_key(records[0]['user_id'])}")
    assert page["verdicts"][records[0]["pair_id"]][records[0]["order"]]["raw"] == "one\u2028two\x85three"


def test_the_persona_is_shown_only_to_what_an_oracle_method_saw(view_results):
    viewer = Viewer(view_results)
    personas = {json.loads(line)["user_id"]: json.loads(line)["persona_truth"]
                for line in (demo_dir() / "users.jsonl").read_text().splitlines()}
    for run_id, oracle in (("demo/persona_oracle", True), ("demo/persona_memory", False), ("demo/longer", False)):
        entry = next(e for e in viewer.entries if e.id == run_id)
        user = str(viewer.run_data(entry).per_user["user_id"][0])
        page = viewer.document(f"u/{entry.key}/{user_key(user)}")
        assert page["oracle"] is oracle and page["persona_hidden"] is not oracle
        assert ("persona_truth" in page["profile"]) is oracle
        if oracle:
            assert page["profile"]["persona_truth"] == personas[user]
        assert (personas[user] in json.dumps(page)) is oracle


def test_texts_are_stored_once_per_data_and_split(view_results, tmp_path):
    page = export_viewer(view_results, tmp_path / "site")
    texts = sorted((tmp_path / "site" / "data" / "t").rglob("*.js"))
    demo_users = {u for u in pd.read_csv(view_results / "runs/demo/longer/per_user.csv",
                                         dtype={"user_id": str})["user_id"]}
    assert len([t for t in texts if t.parent.name == Viewer(view_results).entries[0].data_key]) == len(demo_users)
    assert len(texts) == len(demo_users) + 3  # three demo runs share them; xss has 3 users; gone has none
    assert page.name == "index.html" and (page.parent / "static" / "app.js").exists()
    for path in (page.parent / "data").rglob("*.js"):
        assert re.fullmatch(r"[0-9a-f]+|index", path.stem), path  # safe names: hashes, never user ids
    assert b"<script" not in b"".join(p.read_bytes() for p in (page.parent / "data").rglob("*.js"))


def test_missing_data_leaves_the_verdicts_and_says_why(view_results):
    viewer = Viewer(view_results)
    entry = next(e for e in viewer.entries if e.id == "gone/longer")
    page = viewer.document(f"u/{entry.key}/{user_key('alice')}")
    assert "could not be loaded" in page["texts_error"] and "gone.jsonl" in page["texts_error"]
    assert page["texts"] is None and len(page["verdicts"]) == 2


def test_published_numbers_sit_beside_the_run_they_match_only(view_results, reference):
    ref = Viewer(view_results, reference).document("index")["reference"]
    assert [(m["run"], m["published"]) for m in ref["matched"]] == [("demo/longer", 55.0)]
    longer = json.loads((view_results / "runs/demo/longer/summary.json").read_text())
    assert ref["matched"][0]["difference"] == pytest.approx(100 * longer["micro_accuracy"] - 55.0)
    assert ref["matched"][0]["cis_overlap"] is not None
    assert [m["data"] for m in ref["unmatched"]] == ["prism"]


def test_export_refuses_a_folder_it_did_not_write_and_replaces_its_own(view_results, tmp_path):
    (tmp_path / "mine" / "data").mkdir(parents=True)
    with pytest.raises(PrbenchError, match="not written by prbench-view"):
        export_viewer(view_results, tmp_path / "mine")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.html").write_text("the old report")  # report.py's folder: it forces
    with pytest.raises(PrbenchError, match="holds report.html"):
        export_viewer(view_results, tmp_path / "report", page="report.html")
    export_viewer(view_results, tmp_path / "report", page="report.html", force=True)
    (tmp_path / "report" / "data" / "stale.js").write_text("old")
    (tmp_path / "report" / "report.md").write_text("kept")
    export_viewer(view_results, tmp_path / "report", page="report.html")
    assert not (tmp_path / "report" / "data" / "stale.js").exists()
    assert (tmp_path / "report" / "report.md").read_text() == "kept"
    assert (tmp_path / "report" / "report.html").read_bytes().startswith(b"<!doctype html>")


def test_server_serves_documents_by_key_to_local_hosts_only(view_results):
    server = serve(view_results, 0)
    base = url(server)
    try:
        index = urllib.request.urlopen(base + "data/index.js").read()
        assert registered(index)[0] == "index"
        assert urllib.request.urlopen(base).read().startswith(b"<!doctype html>")
        for bad in ("data/../../etc/passwd.js", "data/run/nope.js", "static/../cli.py", "config.yaml"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(base + bad)
        request = urllib.request.Request(base + "data/index.js", headers={"Host": "evil.example:80"})
        with pytest.raises(urllib.error.HTTPError, match="403"):  # DNS rebinding
            urllib.request.urlopen(request)
    finally:
        server.shutdown()


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark.view", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_help_and_bad_input(tmp_path):
    help_ = cli("--help")
    assert help_.returncode == 0 and "--out DIR" in help_.stdout and "#/user/<run>/<user>" in help_.stdout
    missing = cli(str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"prbench-view: error: file {tmp_path / 'nowhere'}: "
                                                   "no such folder of runs"]
    not_mine = tmp_path / "occupied"
    (not_mine / "static").mkdir(parents=True)
    refused = cli(str(tmp_path), "--out", str(not_mine))
    assert (refused.returncode == 2 and refused.stderr.count("\n") == 1
            and "not written by prbench-view" in refused.stderr)


def test_cli_serves_on_a_free_port_and_prints_its_url(view_results):
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.view", str(view_results), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found and int(found.group(1)) > 0, line + proc.stderr.read() if proc.poll() is not None else line
        assert b'"demo/longer"' in urllib.request.urlopen(found.group(0) + "data/index.js").read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cli_exports(view_results, tmp_path):
    done = cli(str(view_results), "--out", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert f"wrote {tmp_path / 'site' / 'index.html'}" in done.stdout
    index = registered((tmp_path / "site" / "data" / "index.js").read_bytes())[1]
    assert len(index["runs"]) == 5 and index["problems"] == []
    written = "".join(p.read_text() for p in (tmp_path / "site" / "data").rglob("*.js"))
    assert "window.__pwned" in written and XSS not in written and ODD_USER not in written  # there, escaped
