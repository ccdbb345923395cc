"""Files prbench ships beside its code: the Hydra configs and the published reference numbers.

A source checkout (or an editable install) reads them at the repo root, `configs/` and
`results/reference/`; a built wheel carries copies inside the package (`benchmark/_shipped/`, written by
setup.py), so an installed prbench finds them from any folder.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(repo_path: str) -> Path:
    """Where the repo's `repo_path` is in this installation."""
    packaged = _PACKAGE / "_shipped" / repo_path
    return packaged if packaged.exists() else _PACKAGE.parent / repo_path


CONFIG_DIR = shipped("configs")
REFERENCE_DIR = shipped("results/reference")
