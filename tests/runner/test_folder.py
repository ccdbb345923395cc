"""Persisted state is bound to what produced it: a changed config or changed data is refused (never reused to
give a wrong number), fit files never collide, one writer per folder, model usage adds up across resumes."""

import json
from pathlib import Path

import pytest

from benchmark.data.loaders import demo_dir
from benchmark.errors import RunError, ServerUnreachable
from benchmark.runner.folder import RunFolder
from benchmark.runner.run import run
from benchmark.runs import SHARED, state_path


def run_dir(cfg):
    return Path(cfg.results_dir) / "runs" / cfg.run_name


def kill_before_first_judgment(folder: Path) -> None:
    """What a run killed after fitting, before its first judgment, leaves behind."""
    for name in ("items.jsonl", "per_user.csv", "summary.json"):
        (folder / name).unlink()
    assert (folder / "fit" / "_shared.json").exists()


def demo_copy(tmp_path, name="data", users=None, swap_labels=()):
    """The demo benchmark in a folder, optionally with users renamed and some labels swapped."""
    folder = tmp_path / name
    folder.mkdir()
    rows = [json.loads(line) for line in (demo_dir() / "pairs.jsonl").read_text().splitlines()]
    if users:
        rows = [{**r, "user_id": users[r["user_id"]]} for r in rows if r["user_id"] in users]
    for row in rows:
        if row["pair_id"] in swap_labels:
            row["chosen"], row["rejected"] = row["rejected"], row["chosen"]
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "users.jsonl").write_text((demo_dir() / "users.jsonl").read_text())
    return folder


def test_changed_config_after_a_kill_before_the_first_judgment_is_refused(quick):
    """The issue's case: reward_model, 4 users, killed once fit/_shared.json exists, rerun with another C.
    It used to reuse the C=1.0 fits and report their number under a config saying C=0.001."""
    first = quick("method=reward_model", "split.max_users=4", "method.params.C=1.0", "run_name=rm")
    folder = run_dir(first)
    c_large = run(first, folder).summary["micro_accuracy"]
    fresh_small = quick("method=reward_model", "split.max_users=4", "method.params.C=0.001", "run_name=fresh")
    c_small = run(fresh_small, run_dir(fresh_small)).summary["micro_accuracy"]
    assert c_large != c_small  # (50.00 vs 37.50 in the issue): reusing the fits would show

    kill_before_first_judgment(folder)
    with pytest.raises(RunError, match="already holds results"):
        run(quick("method=reward_model", "split.max_users=4", "method.params.C=0.001", "run_name=rm"), folder)
    with pytest.raises(RunError, match=r"different config \(method.params.C changed\)"):
        run(quick("method=reward_model", "split.max_users=4", "method.params.C=0.001", "run_name=rm",
                  "resume=true"), folder)
    resumed = run(quick("method=reward_model", "split.max_users=4", "method.params.C=1.0", "run_name=rm",
                        "resume=true"), folder)
    assert resumed.summary["micro_accuracy"] == c_large


def test_changed_labels_on_resume_are_refused(quick, tmp_path):
    """Labels changed in the file at the same path: the old judgments would be scored against new labels."""
    original = demo_copy(tmp_path, "a")
    cfg = quick("method=longer", f"data.path={original}", "run_name=longer")
    folder = run_dir(cfg)
    before = run(cfg, folder).summary["micro_accuracy"]
    test_ids = {json.loads(line)["pair_id"] for line in (folder / "items.jsonl").read_text().splitlines()}
    changed = demo_copy(tmp_path, "b", swap_labels=sorted(test_ids)[:10])
    (original / "pairs.jsonl").write_text((changed / "pairs.jsonl").read_text())  # same path, new labels
    fresh = quick("method=longer", f"data.path={original}", "run_name=truth")
    truth = run(fresh, run_dir(fresh)).summary["micro_accuracy"]
    assert truth != before

    lines = (folder / "items.jsonl").read_text().splitlines()
    killed = "\n".join(lines[:20]) + "\n" + lines[20][:30]  # killed midway, its last line torn
    (folder / "items.jsonl").write_text(killed)
    (folder / "summary.json").unlink()
    with pytest.raises(RunError, match="data changed"):
        run(quick("method=longer", f"data.path={original}", "run_name=longer", "resume=true"), folder)
    assert (folder / "items.jsonl").read_text() == killed  # a refused resume changes nothing


def test_split_change_is_a_data_change(quick):
    cfg = quick("backend=mock", "run_name=s")
    run(cfg, run_dir(cfg))
    with pytest.raises(RunError, match="split.seed changed"):  # config keys are named
        run(quick("backend=mock", "run_name=s", "resume=true", "split.seed=1"), run_dir(cfg))


def test_user_ids_never_share_a_fit_file(quick, tmp_path):
    """u/1 and u_1 used to share fit/u_1.json, and a user called _shared got the global state."""
    odd = {"demo_user_00": "_shared", "demo_user_01": "u/1", "demo_user_02": "u_1"}
    plain = {"demo_user_00": "a", "demo_user_01": "b", "demo_user_02": "c"}  # same sort order
    results = {}
    for name, users in (("odd", odd), ("plain", plain)):
        data = demo_copy(tmp_path, name, users=users)
        cfg = quick("method=reward_model_personal", f"data.path={data}", f"run_name={name}")
        results[name] = run(cfg, run_dir(cfg))
    odd_table = results["odd"].per_user.set_index("user_id")["accuracy"]
    plain_table = results["plain"].per_user.set_index("user_id")["accuracy"]
    assert [odd_table[odd[u]] for u in odd] == [plain_table[plain[u]] for u in odd]
    files = sorted(p.name for p in (results["odd"].folder / "fit").glob("*.json"))
    assert len(files) == 4 and "_shared.json" in files  # three users and the global state
    for user in odd.values():
        assert json.loads(state_path(results["odd"].folder / "fit", user).read_text())["name"] == user


def test_state_paths_are_distinct_and_checked(tmp_path):
    ids = ["u/1", "u_1", "u%2F1", "_shared", "%5Fshared", ".", "..", "x" * 300, "x" * 301, "é"]
    paths = [state_path(tmp_path, i) for i in ids] + [tmp_path / SHARED]
    assert len(set(paths)) == len(paths)
    assert all(p.parent == tmp_path and len(p.name.encode()) < 255 for p in paths)
    assert state_path(tmp_path, "demo_user_00").name == "demo_user_00.json"
    folder = RunFolder(tmp_path / "run")
    folder.fit_dir.mkdir(parents=True)
    folder.state("u1", lambda: {"w": 1})
    state_path(folder.fit_dir, "u1").rename(state_path(folder.fit_dir, "u2"))  # a file that is not u2's
    with pytest.raises(RunError, match="holds the fit of 'u1', not of 'u2'"):
        folder.state("u2", lambda: {"w": 2})


def test_a_second_writer_is_refused_at_once(quick):
    cfg = quick("backend=mock", "run_name=locked")
    holder = RunFolder(run_dir(cfg))
    holder.open({}, resume=False)
    try:
        with pytest.raises(RunError, match="in use by another prbench process"):
            run(quick("backend=mock", "run_name=locked", "resume=true"), run_dir(cfg))
    finally:
        holder.close()
    assert run(quick("backend=mock", "run_name=locked", "resume=true"), run_dir(cfg)).summary["n_judgments"] == 110


def test_model_usage_adds_up_across_resumed_processes(quick):
    cfg = quick("backend=mock", "run_name=usage")
    folder = run_dir(cfg)
    full = run(cfg, folder).summary["model_usage"]["calls"]
    assert full == 110
    lines = (folder / "items.jsonl").read_text().splitlines()
    (folder / "items.jsonl").write_text("\n".join(lines[:20]) + "\n")
    (folder / "summary.json").unlink()
    resumed = run(quick("backend=mock", "run_name=usage", "resume=true"), folder).summary["model_usage"]
    assert resumed["calls"] == 110 + 90  # every request any process of this run sent


def test_mock_runs_are_labelled_mock(quick):
    cfg = quick("backend=mock", "split.max_users=1")
    assert run(cfg, run_dir(cfg)).summary["model"] == "mock"


def test_unreachable_server_stops_the_run_naming_it(quick):
    cfg = quick("backend=openai", "backend.base_url=http://127.0.0.1:9/v1", "backend.backoff_s=0.01",
                "backend.unreachable_after=4", "split.max_users=1")
    with pytest.raises(ServerUnreachable, match=r"http://127.0.0.1:9/v1: the first 4 connection attempts"):
        run(cfg, run_dir(cfg))
