"""`prbench`: the Hydra entry point. `prbench --help` lists the config groups and their options."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from benchmark import shipped
from benchmark.errors import PrbenchError

CONFIG_DIR = str(shipped.CONFIG_DIR)


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from benchmark.runner.run import run  # heavy imports after Hydra has parsed the command line

    for noisy in ("httpx", "httpx2", "openai"):  # one line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:
        result = run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except PrbenchError as error:
        print(f"prbench: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    return result.summary.get("macro_accuracy")  # none for one shard of a run (prbench-merge scores it)


if __name__ == "__main__":
    main()
