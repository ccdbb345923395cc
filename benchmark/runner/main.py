"""`prbench`: the Hydra entry point. `prbench --help` lists the config groups and their options."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from benchmark import shipped
from benchmark.errors import Interrupted, PrbenchError, Signalled
from benchmark.runner.control import signal_name, signals_stop_the_run
from benchmark.tracking import argv_secrets

CONFIG_DIR = str(shipped.CONFIG_DIR)


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def _main(cfg: DictConfig) -> float | None:
    from benchmark.runner.run import run  # heavy imports after Hydra has parsed the command line

    for noisy in ("httpx", "httpx2", "openai"):  # one line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:
        result = run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except PrbenchError as error:
        label = "" if isinstance(error, Interrupted) else "error: "
        print(f"prbench: {label}{error}", file=sys.stderr)
        raise SystemExit(getattr(error, "exit_code", 2)) from None
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
    """Before Hydra makes the output folder: a results_dir that cannot hold it is a one-line error (exit 2),
    not Hydra's traceback."""

    @staticmethod
    def _check(folder: str) -> None:
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
            if not os.access(path, os.W_OK | os.X_OK):
                raise PermissionError(13, "not writable")
        except OSError as error:
            print(f"prbench: error: cannot write the run folder {path} ({error.strerror or error}); check "
                  f"results_dir=", file=sys.stderr)
            raise SystemExit(2) from None

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        self._check(config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self._check(config.hydra.sweep.dir)


def main() -> None:
    """Hydra echoes overrides in its errors (and tracebacks): anything secret on the command line is masked
    in everything this process prints."""
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
