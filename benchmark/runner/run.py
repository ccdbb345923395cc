"""One evaluation run: load, split, fit per user, judge every test pair in both orders, score, log.

Users run concurrently (`users_in_flight` threads, each fitting then judging one user; a method's code stays
sequential per user), so the backend always has many users' requests pending. Tables are built in data
order, never completion order, so they are identical to a `users_in_flight=1` run.

A judgment touched by a failed request (benchmark/models/layer.py) is recorded with `request_failed` and
judged again on resume; a fit that had one is neither kept nor judged with. Too many of them, a signal or a
full disk stop the run without tables (runner/control.py).
"""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from benchmark.config import RunConfig
from benchmark.data import load_benchmark
from benchmark.errors import Interrupted, RequestsFailed, Signalled
from benchmark.methods import Method, UserData, visible_profile
from benchmark.models.concurrency import IN_FLIGHT
from benchmark.models.layer import CONTROL, Stopped, metered
from benchmark.records import ORDERS, JudgeItem, UserProfile
from benchmark.root_config import RootConfig
from benchmark.runner.control import RESUME, FailureBudget, disk_full, signal_name, signals_stop_the_run
from benchmark.runner.finish import Outcome, RunResult, finish
from benchmark.runner.folder import RunFolder, bound_config, data_fingerprint
from benchmark.runner.shards import ShardLayout
from benchmark.runs import CONFIG, PROVENANCE, SHARED, write_json, write_text
from benchmark.splits import UserSplit, split_benchmark
from benchmark.splits import summarize as summarize_splits
from benchmark.store import ItemStore, item_record
from benchmark.tracking import provenance, scrub


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _judge_user(method: Method, split: UserSplit, state: dict, store: ItemStore, seed: int, batch_size: int,
                bar) -> None:
    """Judge the user's missing items, shuffled (seeded) so that position never hints at the label."""
    pending = [(pair, order) for pair in split.test for order in ORDERS if (pair.pair_id, order) not in store]
    random.Random(f"{seed}:{split.user_id}").shuffle(pending)
    for chunk in _chunks(pending, batch_size):
        CONTROL.check()
        with metered() as meter:
            judgments = method.judge([JudgeItem.from_pair(pair, order, method.item_meta) for pair, order in chunk],
                                     state)
        if len(judgments) != len(chunk):
            raise RuntimeError(f"{type(method).__name__}.judge must return one judgment per item, in order")
        records = [item_record(pair, order, j) for (pair, order), j in zip(chunk, judgments)]
        if meter.request_failures:
            _mark_request_failures(records)
        store.append(records)
        bar.update(len(chunk))


def _mark_request_failures(records: list[dict]) -> None:
    """A chunk in which requests failed: its failed judgments are marked, to be judged again on resume; all of
    its judgments when none says it failed (the method made a verdict out of a failed request)."""
    for record in [r for r in records if r["preferred"] == "fail"] or records:
        record["request_failed"] = True


def users_in_flight(settings: RunConfig, backend) -> int:
    """`users_in_flight`, or as many as the backend can use: one per request slot of a server (each user has
    at least one request pending), 64 for a local engine (its coalescer merges their requests)."""
    return settings.users_in_flight or getattr(backend, "max_concurrency", 64)


@dataclass
class FitCosts:
    seconds: dict[str, float]
    calls: dict[str, dict[str, float]]
    failed: list[str]  # users whose fit had a failed request: not kept, not judged


def _run_users(method: Method, splits: Sequence[UserSplit], users: dict[str, UserData], folder: RunFolder,
               store: ItemStore, settings: RunConfig, workers: int, bar,
               after_user: Callable[[], object] = lambda: None) -> FitCosts:
    """Fit then judge each user, `workers` users at a time, in threads (the main thread only waits, so a
    signal always finds it here); fit costs are metered per user (thread). `after_user` runs as each user
    finishes (the run's usage is saved for a later resume)."""
    costs, lock, fitted = FitCosts({}, {}, []), threading.Lock(), [0]

    def one_user(split: UserSplit) -> None:
        CONTROL.check()
        with metered() as meter:
            state, seconds = folder.state(split.user_id, lambda: method.fit(users[split.user_id]),
                                          keep=lambda: meter.request_failures == 0)
        with lock:
            costs.seconds[split.user_id], costs.calls[split.user_id] = seconds, meter.snapshot()
            if meter.request_failures:  # a state made of failed requests: fitted again on resume
                costs.failed.append(split.user_id)
                return
            fitted[0] += 1
            bar.set_postfix_str(f"{fitted[0]}/{len(splits)} users fitted", refresh=False)
        _judge_user(method, split, state, store, settings.seed, settings.batch_size, bar)
        after_user()

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="user") as pool:
        try:
            futures = [pool.submit(one_user, split) for split in splits]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        except Signalled as signalled:  # users not started never start; those in flight stop at their next call
            CONTROL.stop(f"stopped by {signal_name(signalled)}")
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        errors = [f.exception() for f in done if f.exception() is not None]
        if errors:  # users already started finish, unless the run is stopping; the rest never start
            pool.shutdown(wait=True, cancel_futures=True)
            raise next((e for e in errors if not isinstance(e, Stopped)), errors[0])
    return costs


def _latest_only(save: Callable[[], object]) -> Callable[[], None]:
    """`save` for each caller, without making callers wait on the disk: one save at a time, and a call that
    arrives during a save makes the saving thread save once more after it, so the last save sees the
    latest state. Saving the usage file after each user, in turn under one lock, held 256 users up on a
    PRISM-sized run (scripts/bench_scale.py)."""
    lock, running, again = threading.Lock(), [False], [False]

    def request() -> None:
        with lock:
            if running[0]:
                again[0] = True
                return
            running[0] = True
        try:
            while True:
                save()
                with lock:
                    if not again[0]:
                        running[0] = False
                        return
                    again[0] = False
        except BaseException:
            with lock:
                running[0] = again[0] = False
            raise

    return request


@contextmanager
def _few_collections() -> Iterator[None]:
    """Python's cyclic GC, quieter while users are in flight. On a PRISM-sized `persona_memory` run against
    the stand-in server (scripts/bench_scale.py records the GC time), collections took a fifth of the run, the
    full ones walking the whole loaded benchmark while holding the GIL that the feeding threads need. What is
    loaded is frozen (never scanned until unfrozen) and young objects are collected 70x less often."""
    threshold = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _throughput(usage: dict[str, float], wall_s: float, workers: int) -> dict[str, float]:
    """How full the engines were kept (timing fields: they differ between identical runs)."""
    flight = IN_FLIGHT.stats()
    return {"users_in_flight": workers, "wall_seconds": wall_s,
            "requests_in_flight_mean": flight["requests_in_flight_mean"],
            "requests_in_flight_max": flight["requests_in_flight_max"],
            "prompt_tokens_per_s": usage.get("prompt_tokens", 0) / wall_s if wall_s > 0 else 0.0}


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the model layer did between two usage snapshots (calls, tokens, cache hits...)."""
    return {k: v - before.get(k, 0) for k, v in after.items()}


def run(cfg: DictConfig | RootConfig, run_dir: Path) -> RunResult:
    root = cfg if isinstance(cfg, RootConfig) else RootConfig.from_hydra(cfg)
    layout = ShardLayout(run_dir, root.shard)
    folder = RunFolder(layout.folder)  # a shard writes its own part of the run folder
    try:
        with signals_stop_the_run():
            return _run(root, run_dir, layout, folder)
    except Signalled as signalled:
        raise Interrupted(f"stopped by {signal_name(signalled)}: {_saved(folder)}; to continue, {RESUME}",
                          signalled.signum) from None
    except OSError as error:
        full = disk_full(error, folder.path)
        if full is None:
            raise
        raise full from None
    finally:
        folder.close()  # the folder's lock


def _saved(folder: RunFolder) -> str:
    """What the folder holds, for the line a stopped run ends with."""
    try:
        judged = sum(not r.get("request_failed") for r in ItemStore(folder.items, repair=False).records.values()) \
            if folder.items.exists() else 0
        fits = sum(p.name != SHARED for p in folder.fit_dir.glob("*.json"))
    except Exception:  # noqa: BLE001 - the line must still be printed
        return f"what was written is in {folder.path}"
    return f"{judged} judgments and {fits} user fits are saved in {folder.path}"


def _run(root: RootConfig, run_dir: Path, layout: ShardLayout, folder: RunFolder) -> RunResult:
    config = scrub(root.resolved)
    bound = bound_config(root.resolved, config)  # what the folder's state is bound to
    settings = root.run.model_copy(update={"run_name": config["run_name"]})  # scrubbed: the summary holds it
    models, method = root.build()

    folder.open(bound, settings.resume)
    bench = load_benchmark(root.data, models)
    splits = split_benchmark(bench, root.split)
    print(f"[prbench] {bench.name}: {summarize_splits(splits)}")
    data_digest = data_fingerprint(splits, bench.profiles)
    store = ItemStore(folder.items, repair=False)  # a damaged items file refuses the run here, nothing written
    layout.check_setup(bound, data_digest)
    folder.bind_data(data_digest)  # the last check; then the fingerprint, before any state is persisted
    store.repair()  # cuts a torn last line (a refused run leaves it as it was)
    write_text(folder.path / CONFIG, OmegaConf.to_yaml(OmegaConf.create(config)))
    write_json(folder.path / PROVENANCE, provenance())

    users = {s.user_id: UserData(s.user_id, s.train, s.val, visible_profile(
        method, bench.profiles.get(s.user_id, UserProfile(s.user_id)))) for s in splits}
    all_users, splits = [s.user_id for s in splits], layout.select(splits)  # a shard judges only its users
    expected = [(p.pair_id, o) for s in splits for p in s.test for o in ORDERS]
    pending = sum(k not in store for k in expected)
    if pending:  # tables of an earlier finish would no longer describe the items: written again at the end
        folder.forget_tables()
    budget = FailureBudget(settings.max_failure_rate, pending)
    with _few_collections():
        usage_start, usage_earlier, started = models.usage(), folder.earlier_usage(), time.perf_counter()
        save_usage = lambda: folder.save_usage(usage_earlier, _delta(usage_start, models.usage()))  # noqa: E731
        IN_FLIGHT.reset()
        method.workdir = layout.method_dir(folder)
        workers = users_in_flight(settings, models.backend)
        CONTROL.begin(budget)
        try:
            shared, setup_seconds = layout.setup(folder, bound, data_digest,
                                                 lambda: _setup(method, list(users.values()), budget, folder))
            method.restore(shared)
            with tqdm(total=len(expected), initial=len(expected) - pending, unit="judgment",
                      desc=f"{root.method.name} on {bench.name}") as bar:
                fit = _run_users(method, splits, users, folder, store, settings, workers, bar,
                                 after_user=_latest_only(save_usage))
        except BaseException:
            _save_anyway(save_usage)
            if budget.spent:
                raise budget.error(_saved(folder)) from None
            raise
        finally:
            CONTROL.end()
        wall_s = time.perf_counter() - started

    usage = save_usage()
    _stop_on_failed_requests(budget, fit, _delta(usage_start, models.usage()).get("calls", 0), folder)
    outcome = Outcome({"run_name": settings.run_name, "data": bench.name, "method": root.method.name,
                       "model": method.model_label}, {s.user_id: (len(s.train), len(s.val)) for s in splits},
                      fit.seconds, fit.calls, setup_seconds, usage, _throughput(usage, wall_s, workers))
    if layout.sharded:  # the run's tables come from prbench-merge, once every shard is done
        layout.write_part(folder, outcome, expected, all_users)
        return RunResult(folder.path, {}, pd.DataFrame())
    return finish(run_dir, (store.records[k] for k in expected), outcome, settings, root.logger, config, folder.items)


def _stop_on_failed_requests(budget: FailureBudget, fit: FitCosts, calls: float, folder: RunFolder) -> None:
    """A run that got through its users still ends without tables when requests failed beyond its budget,
    when every request failed, or when a fit had a failed request (that user was not judged)."""
    if budget.spent or (budget.count and budget.count >= calls):
        raise budget.error(_saved(folder))
    if fit.failed:
        raise RequestsFailed(f"requests to the model server at {budget.where} failed while fitting "
                             f"{len(fit.failed)} users (first error: {budget.first}): their fits were not kept "
                             f"nor judged with; {_saved(folder)}; once the server works, {RESUME}")


def _setup(method: Method, users: list[UserData], budget: FailureBudget, folder: RunFolder) -> dict:
    """The method's global setup; one that had a failed request stops the run before its state is kept."""
    with metered() as meter:
        state = method.setup(users)
    if meter.request_failures:
        raise RequestsFailed(f"requests to the model server at {budget.where} failed during the method's setup "
                             f"(first error: {budget.first}): its state was not kept; {_saved(folder)}; once the "
                             f"server works, {RESUME}")
    return state


def _save_anyway(save: Callable[[], object]) -> None:
    """The usage of a run that is stopping; a failure to save it must not hide why the run stopped."""
    try:
        save()
    except Exception:  # noqa: BLE001
        pass
