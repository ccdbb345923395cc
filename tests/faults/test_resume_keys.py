"""Only settings that can change a result refuse a resume, and a refused run changes nothing on disk.

Every config key is in exactly one of the two lists below: a new key fails
`test_every_config_key_is_classified` until it is put in one (and, if it may change, marked
`operational(...)` on its typed section: benchmark/root_config.py's `operational_keys` reads the marks, for
the run folder, the shards and the merge)."""

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark import plugins
from benchmark.config import DataConfig, LoggerConfig, RunConfig, ShardConfig, SplitConfig
from benchmark.data.loaders import demo_dir
from benchmark.errors import RunError
from benchmark.models import CacheConfig, ModelConfig
from benchmark.models.registry import backend_class
from benchmark.root_config import is_operational, operational_keys
from benchmark.runner.folder import RunFolder, bound_config, result_config
from benchmark.runner.main import CONFIG_DIR
from benchmark.runner.merge import _check_same_run
from benchmark.runner.shards import setup_key
from benchmark.tracking import scrub
from tests.conftest import make_config
from tests.faults.servers import folder_state, last_line, prbench

# keys that reach a model call or a fit: changing one refuses a resume
BINDS = {
    "data", "split", "method", "model", "seed", "batch_size",
    "backend.kind", "backend.base_url", "backend.top_logprobs",  # openai: which server, how answers are read
    "backend.dtype", "backend.max_prompt_tokens", "backend.device",  # transformers (and vllm)
    "backend.max_model_len", "backend.tensor_parallel_size", "backend.enable_prefix_caching",
    "backend.enforce_eager", "backend.seed",  # vllm
}
# keys a resume may change: where the run goes, concurrency, time limits, retries, logging
MAY_CHANGE = {
    "run_name", "results_dir", "resume", "shard", "logger", "cache", "users_in_flight", "bootstrap",
    "max_failure_rate", "backend.max_concurrency", "backend.timeout_s", "backend.max_attempts", "backend.backoff_s",
    "backend.unreachable_after", "backend.api_key_env", "backend.batch_size", "backend.max_batch_tokens",
    "backend.threads", "backend.data_parallel_size", "backend.gpu_memory_utilization", "backend.cpu_kvcache_gib",
    "backend.latency_s",
}


def flat(value, prefix=""):
    if not isinstance(value, dict) or not value:
        return {prefix}
    return {key for k, v in value.items() for key in flat(v, f"{prefix}.{k}" if prefix else str(k))}


def every_config_key() -> set[str]:
    """Every key of the shipped configs (each backend, each experiment) and of the typed config sections."""
    keys = set()
    groups = Path(CONFIG_DIR)
    for override in [*(f"backend={p.stem}" for p in (groups / "backend").glob("*.yaml")),
                     *(f"experiment={p.stem}" for p in (groups / "experiment").glob("*.yaml"))]:
        keys |= flat(OmegaConf.to_container(make_config(override), resolve=False))
    keys |= set(RunConfig.model_fields)
    for section, model in (("data", DataConfig), ("split", SplitConfig), ("logger", LoggerConfig),
                           ("shard", ShardConfig), ("cache", CacheConfig), ("model", ModelConfig)):
        keys |= {f"{section}.{field}" for field in model.model_fields}
    for kind in plugins.names("backend"):
        keys |= {f"backend.{field}" for field in backend_class(kind).Config.model_fields}
    return keys


def binds(key: str) -> bool:
    return any(key == k or key.startswith(f"{k}.") for k in BINDS)


def test_every_config_key_is_classified():
    marked = {kind: operational_keys(kind) for kind in plugins.names("backend")}
    assert set().union(*marked.values()) == MAY_CHANGE
    for kind, keys in marked.items():  # a backend's marks are its own fields, and the sections' marks
        fields = {f"backend.{field}" for field in backend_class(kind).Config.model_fields}
        assert {k for k in keys if k.startswith("backend.")} == {k for k in MAY_CHANGE if k in fields}, kind
        assert {k for k in keys if not k.startswith("backend.")} == {k for k in MAY_CHANGE if "backend." not in k}
    operational = set().union(*marked.values())
    keys = every_config_key()
    assert {"backend.timeout_s", "backend.max_concurrency", "method.params.max_response_chars"} <= keys
    unclassified = sorted(k for k in keys if not binds(k) and not is_operational(k, operational))
    both = sorted(k for k in keys if binds(k) and is_operational(k, operational))
    assert not unclassified, f"classify these config keys (BINDS or MAY_CHANGE): {unclassified}"
    assert not both, f"in both lists: {both}"
    config = OmegaConf.to_container(make_config("backend=openai"), resolve=True)
    assert flat(result_config(config)) == {k for k in flat(config) if binds(k)}


def test_shards_and_merge_use_the_same_keys():
    config = OmegaConf.to_container(make_config("backend=openai", "backend.base_url=http://x/v1"), resolve=True)
    operational = {**config, "users_in_flight": 3, "backend": {**config["backend"], "max_concurrency": 64}}
    result = {**config, "method": {**config["method"], "params": {**config["method"]["params"],
                                                                  "max_response_chars": 3000}}}
    assert setup_key(operational, "d") == setup_key(config, "d") != setup_key(result, "d")
    shard = lambda cfg, name: {"config": cfg, "name": name, "part": {"users_digest": "u", "n_users_total": 2}}
    _check_same_run(shard(config, "0-of-2"), shard(operational, "1-of-2"))  # accepted
    with pytest.raises(Exception, match=r"method.params.max_response_chars \(4000 != 3000\)"):
        _check_same_run(shard(config, "0-of-2"), shard(result, "1-of-2"))


def demo_copy(folder: Path) -> Path:
    folder.mkdir()
    for name in ("pairs.jsonl", "users.jsonl"):
        (folder / name).write_text((demo_dir() / name).read_text())
    return folder


def test_a_refused_resume_changes_nothing_and_operational_keys_may_change(tmp_path):
    data = demo_copy(tmp_path / "data")
    args = ("backend=mock", "split.max_users=3", "method=plain", f"data.path={data}", "run_name=r")
    run_dir = tmp_path / "runs" / "r"
    done = prbench(tmp_path, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    before = folder_state(run_dir)

    refusals = {("resume=true", "method.params.max_reasoning_tokens=100"): "method.params.max_reasoning_tokens changed",
                ("resume=true", "batch_size=4"): "(batch_size changed)"}
    for extra, reason in refusals.items():
        refused = prbench(tmp_path, *args, *extra)
        assert refused.returncode == 2 and reason in last_line(refused.stderr), refused.stderr[-3000:]
        assert folder_state(run_dir) == before, f"refused run {extra} changed the folder"

    original = (data / "pairs.jsonl").read_text()
    judged = json.loads((run_dir / "items.jsonl").read_text().splitlines()[0])["pair_id"]
    rows = [json.loads(line) for line in original.splitlines()]
    for row in rows:
        if row["pair_id"] == judged:  # a label of the run's users changed
            row["chosen"], row["rejected"] = row["rejected"], row["chosen"]
    (data / "pairs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    refused = prbench(tmp_path, *args, "resume=true")
    assert refused.returncode == 2 and "data changed" in last_line(refused.stderr), refused.stderr[-3000:]
    assert folder_state(run_dir) == before
    (data / "pairs.jsonl").write_text(original)

    resumed = prbench(tmp_path, *args, "resume=true", "backend.latency_s=0.001", "users_in_flight=2",
                      "max_failure_rate=0.5", "bootstrap=1000")
    assert resumed.returncode == 0, resumed.stderr[-3000:]


def test_a_folder_bound_by_an_older_prbench_still_resumes(tmp_path):
    """Older fingerprints bound whole sections (operational keys included): a resume compares what they bound,
    operational keys aside. They also hid token counts (`max_reasoning_tokens`) as '***', since the secret
    pattern matched "token": such a folder cannot show what it was made with, so its resume is refused,
    naming the key, rather than trusted."""
    config = OmegaConf.to_container(make_config("backend=openai", "backend.base_url=http://x/v1"), resolve=True)

    def folder_bound_to(older: dict, name: str):
        folder = tmp_path / name
        (folder / "fit").mkdir(parents=True)
        (folder / "items.jsonl").write_text('{"pair_id": "p", "order": "AB"}\n')
        (folder / "fingerprint.json").write_text(json.dumps({"config": older, "keys": list(older), "data": "d"}))
        return folder

    def reopen(folder, changed: dict) -> None:
        raw = {**config, "backend": {**config["backend"], **changed.get("backend", {})},
               "method": {**config["method"], "params": {**config["method"]["params"], **changed.get("params", {})}}}
        run_folder = RunFolder(folder)
        try:
            run_folder.open(bound_config(raw, scrub(raw)), resume=True)
        finally:
            run_folder.close()

    older = {k: config[k] for k in ("data", "split", "method", "backend", "model")}
    folder = folder_bound_to(older, "run")
    reopen(folder, {"backend": {"max_concurrency": 64, "timeout_s": 5}})  # operational: resumes
    with pytest.raises(RunError, match=r"\(method.params.max_response_chars changed\)"):
        reopen(folder, {"params": {"max_response_chars": 3000}})

    hidden = {**older, "method": {**older["method"], "params": {**older["method"]["params"],
                                                                   "max_reasoning_tokens": "***"}}}
    with pytest.raises(RunError, match=r"\(method.params.max_reasoning_tokens changed\)"):
        reopen(folder_bound_to(hidden, "hidden"), {})
