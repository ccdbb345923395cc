"""The README's set-up commands and its worked example stay true."""

import re

from benchmark.runner.run import run
from tests.conftest import ROOT


def readme():
    return (ROOT / "README.md").read_text()


def test_setup_is_two_make_commands_that_exist():
    block = re.search(r"## Set-up.*?```bash\n(.*?)```", readme(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo: setup" in makefile and "\ntest: setup" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_worked_example_is_the_real_file():
    for path in ("baselines/longer.py", "configs/method/longer.yaml"):
        block = re.search(rf"<!-- example: {re.escape(path)} -->\n```\w+\n(.*?)```", readme(), re.S).group(1)
        assert block == (ROOT / path).read_text(), f"README example differs from {path}"


def test_worked_example_runs(quick):
    from pathlib import Path

    cfg = quick("method=longer")
    result = run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name)
    shorter = run(quick("method=longer", "method.params.shorter=true", "run_name=short"),
                  Path(cfg.results_dir) / "runs" / "short")
    assert result.summary["n_judgments"] == 110 and result.summary["order_consistency"] == 1.0
    assert result.summary["micro_accuracy"] + shorter.summary["micro_accuracy"] == 1.0  # no ties in the demo


def test_layout_section_names_every_top_level_folder_and_core_module():
    """The README's layout matches the tree: each top-level folder, core module and core subpackage is in it,
    and every `.py` name in it exists under benchmark/ (so a rename that forgets the README fails here)."""
    layout = re.search(r"## Layout\n\n```\n(.*?)```", readme(), re.S).group(1)
    folders = {"benchmark", "baselines", "configs", "scripts", "results", "tests", "hydra_plugins", "requirements"}
    assert all((ROOT / f).is_dir() for f in folders)
    modules = {p.name for p in (ROOT / "benchmark").glob("*.py") if p.name != "__init__.py"}
    packages = {f"{p.name}/" for p in (ROOT / "benchmark").iterdir() if (p / "__init__.py").exists()}
    named = set(re.findall(r"[\w]+\.py", layout))
    missing = sorted(n for n in {f"{f}/" for f in folders} | packages if n not in layout)
    missing += sorted(m for m in modules if m not in named)
    assert not missing, f"README layout lacks {missing}"
    tree = {p.name for folder in ("benchmark", "baselines", "scripts") for p in (ROOT / folder).rglob("*.py")}
    assert not (stale := sorted(n for n in named if n not in tree)), f"README layout names {stale}, not in the tree"
