"""W&B logging with the real wandb library, offline; provenance."""

import json
from pathlib import Path

from benchmark.config import LoggerConfig
from benchmark.runner.run import run
from benchmark.tracking import provenance, wandb_mode

FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"


def test_offline_run_folder_holds_the_results(quick, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    cfg = quick("backend=mock", "logger=wandb", "logger.mode=offline")
    result_dir = Path(cfg.results_dir) / "runs" / cfg.run_name
    result = run(cfg, result_dir)
    (offline,) = (result_dir / "wandb").glob("offline-run-*")
    (record_file,) = offline.glob("run-*.wandb")
    records = record_file.read_bytes()
    for key in (b"macro_accuracy", b"micro_accuracy", b"per_user", b"items.jsonl"):
        assert key in records, key
    (table,) = offline.glob("files/media/table/per_user_*.table.json")
    data = json.loads(table.read_text())
    assert data["columns"][:4] == ["user_id", "n_train", "n_val", "n_test"]
    assert len(data["data"]) == result.summary["n_users"] and data["data"][0][0].startswith("demo_user_")
    for path in result_dir.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path


def test_mode_defaults_to_offline_without_a_key(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert wandb_mode(LoggerConfig(kind="wandb")) == "offline"
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    assert wandb_mode(LoggerConfig(kind="wandb")) == "online"
    assert wandb_mode(LoggerConfig(kind="wandb", mode="disabled")) == "disabled"


def test_provenance_names_versions_and_commit():
    info = provenance()
    assert {"torch", "transformers", "wandb", "hydra-core"} <= set(info["packages"])
    assert set(info["git"]) == {"commit", "dirty"}
