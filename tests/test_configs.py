"""Every config composes, and every section validates; wrong types fail naming the key."""

from pathlib import Path

import pytest

from benchmark.config import DataConfig, LoggerConfig, RunConfig, SplitConfig, parse_section
from benchmark.errors import ConfigError
from benchmark.methods import build_method
from benchmark.models import Models
from benchmark.runner.main import CONFIG_DIR
from tests.conftest import make_config

GROUPS = ["data", "split", "method", "backend", "model", "logger", "experiment"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_has_options(group):
    assert options(group), f"configs/{group}/ is empty"


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes_and_validates(group, option):
    cfg = make_config(f"{group}={option}")
    parse_section(DataConfig, cfg.data, "data")
    parse_section(SplitConfig, cfg.split, "split")
    parse_section(LoggerConfig, cfg.logger, "logger")
    top = {k: cfg[k] for k in RunConfig.model_fields if k in cfg}
    parse_section(RunConfig, top, "")
    build_method(cfg.method, Models(cfg.backend, cfg.model))


def test_default_sweep_lists_existing_methods():
    from omegaconf import OmegaConf

    raw = OmegaConf.load(Path(CONFIG_DIR) / "config.yaml")
    methods = raw.hydra.sweeper.params.method.split(",")
    assert set(methods) <= set(options("method"))


@pytest.mark.parametrize("override,key", [
    ("split.min_pairs=many", "split.min_pairs"),
    ("batch_size=lots", "batch_size"),
    ("method.params.prior=strong", "method.params.prior"),
    ("backend.batch_size=[1,2]", "backend.batch_size"),
])
def test_wrong_type_names_the_key(override, key):
    method = ["method=reward_model"] if "prior" in override else []
    cfg = make_config(*method, override)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_section(SplitConfig, cfg.split, "split")
        parse_section(RunConfig, {k: cfg[k] for k in RunConfig.model_fields if k in cfg}, "")
        Models(cfg.backend, cfg.model)
        build_method(cfg.method, Models(cfg.backend, cfg.model))


def test_unknown_method_kind_is_named():
    cfg = make_config("method.kind=nope")
    with pytest.raises(ConfigError, match="method.kind"):
        build_method(cfg.method, Models(cfg.backend, cfg.model))


@pytest.mark.parametrize("launcher,target", [("slurm", "SlurmLauncher"), ("ray", "RayTaskLauncher"),
                                             ("submitit_local", "LocalLauncher")])
def test_launcher_configs_compose(launcher, target):
    from hydra import compose, initialize_config_dir
    from hydra.utils import get_class

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    assert get_class(cfg.hydra.launcher._target_).__name__ == target  # installed by the test extra
    assert "gpus_per_node" in cfg.hydra.launcher or cfg.hydra.launcher.remote.num_gpus == 1
