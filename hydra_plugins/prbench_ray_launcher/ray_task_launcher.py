"""`hydra/launcher=ray`: each job of a sweep (a run, or one shard of a run) as a task on a Ray cluster.

Written here on Ray's own API because `hydra-ray-launcher` pins `cloudpickle<3`, which our stack cannot
take (scikit-learn's joblib needs cloudpickle>=3). It is Hydra's basic launcher with `run_job` sent to
Ray: `ray.init(**init)` (address "auto" / host:port joins a running cluster; null starts a private local
one for the sweep and stops it after), one `ray.remote(**remote)` task per job, results gathered in order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)


class JobExited(RuntimeError):
    """A job called sys.exit (prbench does on a clear error, exit code 2): a failed job, not a dead worker."""


def _job(hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig,
         singleton_state: dict[Any, Any]) -> JobReturn:
    """Runs on a Ray worker: the job exactly as Hydra's basic launcher runs it."""
    setup_globals()
    Singleton.set_state(singleton_state)

    def task(cfg: DictConfig) -> Any:
        try:
            return task_function(cfg)
        except SystemExit as stop:
            raise JobExited(f"job {cfg.hydra.job.num} exited with code {stop.code}") from None

    return run_job(hydra_context=hydra_context, task_function=task, config=config,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


class RayTaskLauncher(Launcher):
    def __init__(self, init: DictConfig | None = None, remote: DictConfig | None = None) -> None:
        self.init = OmegaConf.to_container(init, resolve=True) if init is not None else {}
        self.remote = OmegaConf.to_container(remote, resolve=True) if remote is not None else {}
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import ray

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        started = not ray.is_initialized()
        if started:
            init = {k: v for k, v in self.init.items() if v is not None}
            ray.init(**{"address": "local", **init})
        remote_job = ray.remote(**{k: v for k, v in self.remote.items() if v is not None})(_job)
        log.info(f"Launching {len(job_overrides)} jobs on Ray ({ray.cluster_resources().get('CPU', 0):g} CPUs, "
                 f"{ray.cluster_resources().get('GPU', 0):g} GPUs)")
        try:
            pending = []
            for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
                log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
                sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                with open_dict(sweep_config):
                    sweep_config.hydra.job.id = f"ray_{idx}"
                    sweep_config.hydra.job.num = idx
                pending.append(remote_job.remote(self.hydra_context, self.task_function, sweep_config,
                                                 Singleton.get_state()))
            return ray.get(pending)
        finally:
            if started:
                ray.shutdown()
