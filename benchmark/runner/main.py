"""`prbench`: the Hydra entry point. `prbench --help` lists the config groups and their options."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from benchmark import shipped
from benchmark.cli import cli_errors
from benchmark.errors import ConfigError, Signalled
from benchmark.runner.control import signal_name, signals_stop_the_run
from benchmark.runs import RUNS_DIR, inside
from benchmark.tracking import argv_secrets, scrub_sweep_record

CONFIG_DIR = str(shipped.CONFIG_DIR)


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def _main(cfg: DictConfig) -> float | None:
    from benchmark.runner.run import run  # heavy imports after Hydra has parsed the command line

    for noisy in ("httpx", "httpx2", "openai"):  # one line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)

    with cli_errors("prbench"):
        result = run(cfg, Path(HydraConfig.get().runtime.output_dir))
    return result.summary.get("macro_accuracy")  # none for one shard of a run (prbench-merge scores it)


class _Masked:
    """A text stream that writes through to `inner` with every secret replaced by '***'."""

    def __init__(self, inner, secrets: list[str]):
        self.inner, self.secrets = inner, sorted(set(secrets), key=len, reverse=True)

    def write(self, text: str) -> int:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Preflight(Callback):
    """Before Hydra makes the output folder: a results_dir that cannot hold it, or a run folder that would land
    outside results_dir (`run_name=../x`, an absolute run_name, a `..` in data.name), is a one-line error
    (exit 2), not Hydra's traceback, and nothing is written."""

    @staticmethod
    def _check(folder: str) -> None:
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
            if not os.access(path, os.W_OK | os.X_OK):
                raise PermissionError(13, "not writable")
        except OSError as error:
            _refuse(f"cannot write the run folder {path} ({error.strerror or error}); check results_dir=")

    @staticmethod
    def _check_inside(config: DictConfig, run_dir: str, setting: str, sweep: bool) -> None:
        """The run folder, from run_name and as Hydra will make it (`setting`), lies below results_dir; so does a
        sweep's folder."""
        results, runs = Path(str(config.results_dir)), Path(str(config.results_dir)) / RUNS_DIR
        try:
            inside(runs, runs / str(config.run_name), f"run_name {str(config.run_name)!r}")
            inside(results, Path(run_dir), f"the run folder ({setting})")
            if sweep:
                inside(results, Path(config.hydra.sweep.dir), "hydra.sweep.dir", allow_root=True)
        except ConfigError as error:
            _refuse(str(error))

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        self._check_inside(config, config.hydra.run.dir, "hydra.run.dir", sweep=False)
        self._check(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        for job in _sweep_jobs(config):  # every job's folder, before the sweeper makes any of them
            self._check_inside(job, os.path.join(job.hydra.sweep.dir, str(job.hydra.sweep.subdir)),
                               "hydra.sweep.subdir", sweep=True)
        self._check(config.hydra.sweep.dir)

    def on_job_start(self, config: DictConfig, **kwargs) -> None:
        """The last line of defence (a sweeper whose jobs `_sweep_jobs` cannot list): refuse before the run
        writes anything into a folder outside results_dir. In a sweep, the sweep's saved config loses its secrets."""
        sweep = config.hydra.mode == RunMode.MULTIRUN
        self._check_inside(config, config.hydra.runtime.output_dir, "its output folder", sweep)
        if sweep:
            scrub_sweep_record(Path(config.hydra.sweep.dir) / "multirun.yaml")

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        scrub_sweep_record(Path(config.hydra.sweep.dir) / "multirun.yaml")


def _refuse(message: str) -> None:
    print(f"prbench: error: {message}", file=sys.stderr)
    raise SystemExit(2) from None


def _sweep_jobs(config: DictConfig) -> list[DictConfig]:
    """The config of each job of this sweep, composed as the basic sweeper will (none for another sweeper)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if not str(config.hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return [config]  # at least the folders every job shares
    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    try:
        overrides = OverridesParser.create().parse_overrides(params + list(config.hydra.overrides.task))
        loader = GlobalHydra.instance().config_loader()
        return [loader.load_sweep_config(config, job) for batch in BasicSweeper.split_arguments(overrides, None)
                for job in batch]
    except Exception:  # a sweep Hydra cannot compose: the sweeper itself reports it, in its own words
        return [config]


def main(argv: list[str] | None = None) -> None:
    """Hydra echoes overrides in its errors (and tracebacks): anything secret on the command line is masked
    in everything this process prints. Hydra reads sys.argv: `argv` replaces its arguments."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    secrets = argv_secrets(sys.argv[1:])
    if secrets:
        sys.stdout, sys.stderr = _Masked(sys.stdout, secrets), _Masked(sys.stderr, secrets)
    with signals_stop_the_run():
        try:
            _main()
        except Signalled as signalled:  # before a run began (the run itself says what it saved)
            print(f"prbench: stopped by {signal_name(signalled)} (no run was in progress)",
                  file=sys.stderr)
            raise SystemExit(128 + signalled.signum) from None


if __name__ == "__main__":
    main()
