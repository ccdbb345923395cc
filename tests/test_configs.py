"""Every config composes, and every section validates; wrong types fail naming the key."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from benchmark import plugins
from benchmark.config import DataConfig, LoggerConfig, RunConfig, SplitConfig, parse_section
from benchmark.errors import ConfigError
from benchmark.methods import build_method, method_class
from benchmark.models import Models
from benchmark.models.registry import backend_class
from benchmark.root_config import RootConfig
from benchmark.runner.main import CONFIG_DIR
from tests.conftest import ROOT, make_config

GROUPS = ["data", "split", "method", "backend", "model", "logger", "experiment"]


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_has_options(group):
    assert options(group), f"configs/{group}/ is empty"


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
def test_every_option_composes_and_validates(group, option):
    external = {"method": "method.kind=longer", "backend": "backend.kind=mock", "data": "data.loader=demo"}
    cfg = make_config(f"{group}={option}", *([external[group]] if option == "external" else []))
    root = RootConfig.from_hydra(cfg)  # every section, variants included: no unknown key, no wrong type
    assert root.resolved["method"]["name"] == root.method.name
    root.build()


def test_an_unknown_key_anywhere_is_named():
    for override, key in (("+bogus=1", "bogus"), ("+split.bogus=1", "split.bogus"), ("+shard.bogus=1", "shard.bogus"),
                          ("+backend.bogus=1", "backend.bogus"), ("+method.params.bogus=1", "method.params.bogus")):
        with pytest.raises(ConfigError, match=rf"config {key.replace('.', '[.]')}: Extra inputs"):
            RootConfig.from_hydra(make_config(override))


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


def test_unknown_backend_kind_is_named():
    cfg = make_config("backend.kind=nope")
    with pytest.raises(ConfigError, match=r"backend\.kind: unknown backend 'nope'"):
        Models(cfg.backend, cfg.model)


@pytest.mark.parametrize("kind", sorted(plugins.names("backend")))
def test_each_backend_entry_point_loads_its_kind(kind):
    config = backend_class(kind).Config
    assert config(kind=kind).kind == kind


def test_external_method_without_a_kind_is_named():
    cfg = make_config("method=external")
    with pytest.raises(ConfigError, match=r"method\.kind: missing"):
        build_method(cfg.method, Models(cfg.backend, cfg.model))


@pytest.mark.parametrize("kind", sorted(plugins.GROUPS))
def test_every_declared_entry_point_loads(kind):
    """prbench's pyproject.toml declares each of its methods, backends and loaders once, as an entry point."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][plugins.GROUPS[kind]]
    assert declared and set(declared) <= plugins.names(kind)
    for name, target in declared.items():
        module, attr = target.split(":")
        value = plugins.load(kind, name, kind, lambda _: True, "")
        assert (value.__module__, value.__name__) == (module, attr)


@pytest.mark.parametrize(("group", "key", "kind"), [("method", "kind", "method"), ("backend", "kind", "backend"),
                                                    ("data", "loader", "loader")])
def test_every_config_names_an_installed_extension(group, key, kind):
    """A config whose method, backend or loader has no entry point could not run (method=external excepted)."""
    named = {path.stem: OmegaConf.load(path).get(key) for path in (ROOT / "configs" / group).glob("*.yaml")}
    named = {stem: value for stem, value in named.items() if value is not None}  # external: given on the CLI
    assert named and set(named.values()) <= plugins.names(kind), named


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key)) if key != "defaults" else ()
    else:
        yield path, node


def _code_default(cfg, path):
    """The pydantic default of the config key `path`, or None when the key has none (required, free-form)."""
    from pydantic import BaseModel

    from benchmark.models import CacheConfig, ModelConfig

    sections = {"split": SplitConfig, "logger": LoggerConfig, "cache": CacheConfig, "model": ModelConfig,
                "data": DataConfig, "backend": backend_class(cfg.backend.kind).Config}
    if path[0] == "method":
        model, rest = (method_class(cfg.method.kind).Params, path[2:]) if path[1:2] == ("params",) else (None, ())
    else:
        model, rest = (sections[path[0]], path[1:]) if path[0] in sections else (RunConfig, path)
    for key in rest[:-1]:
        field = model.model_fields.get(key)
        model = field.annotation if field and isinstance(field.annotation, type) and \
            issubclass(field.annotation, BaseModel) else None
        if model is None:
            return None
    field = model.model_fields.get(rest[-1]) if model and rest else None
    return None if field is None or field.is_required() else (field.get_default(call_default_factory=True),)


def _standalone(path: Path) -> bool:
    """A method or backend file that inherits no other file and names a kind (not `external`)."""
    raw = OmegaConf.load(path)
    return "defaults" not in raw and raw.get("kind") is not None


BASE_FILES = ["config.yaml"] + sorted(f"{p.parent.name}/{p.name}" for group in ("method", "backend")
                                      for p in (Path(CONFIG_DIR) / group).glob("*.yaml") if _standalone(p))
VARIANTS = sorted(f"{p.parent.name}/{p.name}" for group in ("method", "backend")
                  for p in (Path(CONFIG_DIR) / group).glob("*.yaml") if "defaults" in OmegaConf.load(p))


@pytest.mark.parametrize("file", BASE_FILES)
def test_base_configs_restate_the_code_defaults_exactly(file):
    """config.yaml and each method / backend file that inherits no other (the file named after a kind, the
    persona_* variants) list the knobs with the code's defaults (so `key=value` overrides work without `+`);
    a value there that differs from the pydantic default is drift. Variants that inherit a file override on
    purpose (next test); experiments are not checked."""
    group, _, option = file.removesuffix(".yaml").rpartition("/")
    raw = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / file), resolve=False)
    cfg = make_config(*([f"{group}={option}"] if group else []))
    drift = []
    for path, value in _leaves(raw, (group,) if group else ()):
        if path[0] == "hydra" or path[-1] == "kind" or (isinstance(value, str) and "${" in value):
            continue
        default = _code_default(cfg, path)
        if default is not None and value != default[0]:
            drift.append(f"{'.'.join(path)}: {value!r} in {file}, {default[0]!r} in the code")
    assert not drift, "; ".join(drift)


@pytest.mark.parametrize("file", VARIANTS)
def test_variants_change_what_they_restate(file):
    """A variant (`defaults: [<base>, _self_]`) sets only what differs from its base: a value equal to the
    base's says nothing and would hide a later change of the base."""
    group, _, option = file.removesuffix(".yaml").rpartition("/")
    raw = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / file), resolve=False)
    base = next(d for d in raw["defaults"] if d != "_self_")
    composed = OmegaConf.to_container(make_config(f"{group}={base}")[group], resolve=False)
    same = []
    for path, value in _leaves(raw):
        node = composed
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if value == node:
            same.append(".".join(path))
    assert not same, f"{file} restates its base {base}: {same}"
