"""Does prbench-view stay fast at PRISM scale? Writes results/bench/view.json.

Builds a synthetic PRISM-sized results folder: 723 users with long-tailed numbers of pairs (5..100, ~15k in all),
multi-turn contexts and responses of PRISM-like lengths, in a jsonl dataset that the runs reference by
`data.path`, and five real runs of it (the runner, mock backend): longer, shorter, plain, persona_memory and
plain_reasoning (whose mock answers with a few hundred characters of reasoning, as a reasoning judge does).
Then measures:

  * the static export (`export_viewer`): seconds, bytes, files;          targets: <= 30 s, <= 100 MB
  * time to first render in headless Chromium (navigation start -> the page's ready marker, in the page's own
    clock; median of --repeats fresh loads) of the leaderboard, the plain run's page (723 users) and the
    user page of the user with the most pairs in the reasoning run (the longest outputs), from the export
    (file://) and from the server (after its background warm-up, whose seconds are recorded too);
                                                                          target: <= 2 s per page

    python scripts/bench_view.py [--users 723] [--repeats 3] [--out results/bench/view.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.conftest import make_config  # noqa: E402
from tests.view.conftest import CHROMIUM, Browser, start_chromium  # noqa: E402

TARGETS = {"export_seconds": 30.0, "export_megabytes": 100.0, "first_render_seconds": 2.0}
METHODS = {"longer": ["method=longer"],
           "shorter": ["method=longer", "method.params.shorter=true", "method.name=shorter"],
           "plain": ["method=plain", "backend=mock"], "persona_memory": ["method=persona_memory", "backend=mock"],
           "plain_reasoning": ["method=plain_reasoning", "backend=mock"]}


# -- the data: PRISM-sized, long-tailed, PRISM-like text lengths ----------------------------------------------

WORDS = ("the a to of and in that is for it you with on as be this are or can your by if more not at from have "
         "will but one about which also some they when what there so like time people may make need way other use "
         "help good work first most each want well much many should find into just very best take know even water "
         "plan health money travel learn code data model answer question idea step example practice write read "
         "choose option reason simple clear short long detail context history culture value family friend city "
         "energy climate policy science music book food garden exercise sleep budget career school study").split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 22))]
    return " ".join(words).capitalize() + rng.choice(".....?!")


def text(rng: random.Random, median: float, sigma: float, low: int, high: int) -> str:
    """About lognormal(median, sigma) characters: sentences, paragraphs, now and then a bulleted list."""
    target = max(low, min(high, round(math.exp(rng.gauss(math.log(median), sigma)))))
    parts, size = [], 0
    while size < target:
        if rng.random() < 0.15:
            block = "\n".join("- " + sentence(rng) for _ in range(rng.randint(2, 5)))
        else:
            block = " ".join(sentence(rng) for _ in range(rng.randint(1, 4)))
        parts.append(block)
        size += len(block) + 2
    return "\n\n".join(parts)[:target]


def synthetic_data(path: Path, n_users: int, seed: int = 0) -> dict:
    """PRISM-like: pairs per user long-tailed (median ~15, 5..100); 1-3 turns of context before the user turn the
    two responses answer; user turns ~120 characters, assistant turns and responses ~900 (lognormal)."""
    rng = random.Random(seed)
    lines, sizes, counts = [], [], []
    for u in range(n_users):
        n = max(5, min(100, round(math.exp(rng.gauss(math.log(15), 0.8)))))
        counts.append(n)
        n_test, n_val = max(1, round(0.2 * n)), round(0.2 * n)
        for k in range(n):
            context = []
            for _ in range(rng.choice([0, 0, 1, 1, 2])):
                context += [{"role": "user", "content": text(rng, 120, 0.7, 10, 1500)},
                            {"role": "assistant", "content": text(rng, 900, 0.6, 40, 5000)}]
            context.append({"role": "user", "content": text(rng, 120, 0.7, 10, 1500)})
            row = {"pair_id": f"prism-u{u:04d}-c{k:03d}", "user_id": f"user{u:04d}", "context": context,
                   "chosen": text(rng, 900, 0.6, 40, 5000), "rejected": text(rng, 900, 0.6, 40, 5000),
                   "split": "test" if k < n_test else "val" if k < n_test + n_val else "train"}
            line = json.dumps(row)
            lines.append(line)
            sizes.append(len(line))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts.sort()
    return {"users": n_users, "pairs": len(lines), "pairs_per_user_min": counts[0],
            "pairs_per_user_median": counts[len(counts) // 2], "pairs_per_user_max": counts[-1],
            "mean_pair_characters": round(sum(sizes) / len(sizes)),
            "data_megabytes": round(path.stat().st_size / 1e6, 1)}


def reasoning(chat) -> str:
    """The mock reasoning judge's reply: a few hundred characters of reasoning, then its answer."""
    rng = random.Random(hash(repr(chat)) & 0xFFFFFFFF)
    return text(rng, 450, 0.4, 100, 900) + f"\n\nAnswer: {rng.choice('AB')}"


def make_runs(results: Path, data: Path) -> dict[str, float]:
    from benchmark.models import Models
    from benchmark.runner.run import run

    seconds = {}
    for name, overrides in METHODS.items():
        cfg = make_config("logger=none", "cache.mode=off", f"results_dir={results}", "data=prism", f"data.path={data}",
                          f"run_name=prism/{name}", *overrides)
        if name == "plain_reasoning":
            Models(cfg.backend, cfg.model, cfg.cache).chat().inner.reply = reasoning  # the instance the run uses
        started = time.perf_counter()
        run(cfg, results / "runs" / cfg.run_name)
        seconds[name] = round(time.perf_counter() - started, 1)
    return seconds


# -- measuring ---------------------------------------------------------------------------------------------------

def folder_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def pages(results: Path) -> dict[str, str]:
    """The pages measured: the leaderboard, the plain run (every user), the reasoning run's largest user."""
    import pandas as pd

    from tests.view.pages import run_link, user_link

    table = pd.read_csv(results / "runs/prism/plain_reasoning/per_user.csv", dtype={"user_id": str})
    user = table.sort_values("n_test", ascending=False)["user_id"].iloc[0]
    return {"leaderboard": "#/", "run": run_link("prism/plain"), "user": user_link("prism/plain_reasoning", user)}


def render_times(browser: Browser, hashes: dict[str, str], repeats: int) -> dict[str, dict]:
    out = {}
    for name, hash_ in hashes.items():
        page_ms, wall_ms = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            browser.open(hash_)  # a fresh load from about:blank
            wall_ms.append(1000 * (time.perf_counter() - started))
            page_ms.append(browser.js("return window.prbReadyMs"))
        out[name] = {"hash": hash_, "first_render_ms": round(statistics.median(page_ms)),
                     "first_render_ms_all": [round(x) for x in page_ms],
                     "wall_ms_median": round(statistics.median(wall_ms)),
                     "elements": browser.js("return document.getElementsByTagName('*').length")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=723)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "view.json")
    parser.add_argument("--keep", type=Path, help="build the results and export here (and keep them)")
    args = parser.parse_args()
    from benchmark.view.export import export_viewer
    from benchmark.view.server import serve, url

    load_before = os.getloadavg()  # a shared machine: how busy it was is part of the numbers
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-view-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        data = synthetic_data(work / "prism_synthetic.jsonl", args.users)
        results = work / "results"
        shutil.rmtree(results, ignore_errors=True)
        run_seconds = make_runs(results, work / "prism_synthetic.jsonl")
        print(f"[bench_view] data and runs: {time.perf_counter() - started:.0f} s", flush=True)

        shutil.rmtree(work / "site", ignore_errors=True)
        started = time.perf_counter()
        page = export_viewer(results, work / "site")
        export_s = time.perf_counter() - started
        size, files = folder_size(work / "site")
        data_bytes = folder_size(work / "site" / "data" / "t")[0]
        print(f"[bench_view] export: {export_s:.1f} s, {size / 1e6:.1f} MB, {files} files", flush=True)

        hashes = pages(results)
        driver = start_chromium()
        try:
            static = render_times(Browser(driver, page.as_uri()), hashes, args.repeats)
            server = serve(results, 0)
            started = time.perf_counter()
            server.warmed.wait()
            warm_s = time.perf_counter() - started
            served = render_times(Browser(driver, url(server)), hashes, args.repeats)
            server.shutdown()
        finally:
            driver.quit()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    worst = max(p["first_render_ms"] for p in [*static.values(), *served.values()]) / 1000
    ratios = {"export_seconds_over_target": round(export_s / TARGETS["export_seconds"], 3),
              "export_megabytes_over_target": round(size / 1e6 / TARGETS["export_megabytes"], 3),
              "slowest_first_render_over_target": round(worst / TARGETS["first_render_seconds"], 3)}
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    report = {
        "what": "prbench-view at PRISM scale: static export time and size, time to first render per page",
        "command": "python scripts/bench_view.py",
        "data": data, "methods": list(METHODS), "run_seconds": run_seconds,
        "export": {"seconds": round(export_s, 2), "megabytes": round(size / 1e6, 2), "files": files,
                   "texts_megabytes": round(data_bytes / 1e6, 2)},
        "static_file_url": static,
        "served": {"warm_up_seconds": round(warm_s, 2), "pages": served},
        "targets": TARGETS, "ratios": ratios, "targets_met": all(r <= 1 for r in ratios.values()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "browser": version,
                    "load_average_1m": {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)}},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("export", "ratios", "targets_met")}, indent=2))


if __name__ == "__main__":
    main()
