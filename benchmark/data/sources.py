"""Read raw rows from a local file or folder, or from a hub dataset through `datasets`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.errors import DataError, utf8

SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a surrogate is written in JSON (valid pairs too)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSON-lines file; row N (1-based) is line N."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(f"not UTF-8 text (byte {error.start + 1} of the line)", source=str(path),
                                row=number) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"invalid JSON: {error.msg}", source=str(path), row=number) from None
            if not isinstance(row, dict):
                raise DataError("each line must be a JSON object", source=str(path), row=number)
            if SURROGATE_ESCAPE.search(line):
                check_text(row, str(path), number)
            yield row


def read_local(path: str | Path) -> list[dict[str, Any]]:
    """Rows from a .jsonl / .json / .parquet file, a folder of parquet files, or a `save_to_disk` folder.

    A saved `DatasetDict` contributes the rows of every split, in split-name order.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError("no such file or folder", source=str(path))
    if path.is_file():
        if path.suffix == ".jsonl":
            return list(read_jsonl(path))
        if path.suffix == ".json":
            return _read_json(path)
        if path.suffix == ".parquet":
            import pyarrow
            import pyarrow.parquet as pq

            try:
                return pq.read_table(path).to_pylist()
            except (pyarrow.ArrowException, OSError) as error:
                raise DataError(f"not a readable parquet file ({str(error).splitlines()[0][:200]})",
                                source=str(path)) from None
        raise DataError(f"unsupported file type {path.suffix!r} (use .jsonl, .json or .parquet)", source=str(path))
    if (path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists():
        import datasets

        loaded = datasets.load_from_disk(str(path))
        parts = [loaded[name] for name in sorted(loaded)] if isinstance(loaded, datasets.DatasetDict) else [loaded]
        return [row for part in parts for row in part]
    files = sorted(path.rglob("*.parquet")) or sorted(path.rglob("*.jsonl"))
    if not files:
        raise DataError("folder holds no saved dataset, .parquet or .jsonl files", source=str(path))
    return [row for file in files for row in read_local(file)]


def _read_json(path: Path) -> list[dict[str, Any]]:
    text = utf8(path.read_bytes(), str(path))
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})",
                        source=str(path)) from None
    if not isinstance(rows, list):
        raise DataError("a .json file must hold a list of objects", source=str(path))
    surrogates = SURROGATE_ESCAPE.search(text)
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise DataError("each element must be a JSON object", source=str(path), row=number)
        if surrogates:
            check_text(row, str(path), number)
    return rows


def check_text(row: dict[str, Any], source: str, number: int) -> None:
    """Refuse a row with text that is not valid Unicode: a lone surrogate, which JSON can spell (`"\\ud800"`)
    but no file, cache key or request can hold. Named, never replaced."""
    for key, value in row.items():
        if (bad := lone_surrogate(key)) or (bad := lone_surrogate(value)):
            raise DataError(f"text is not valid Unicode: a lone surrogate {bad} (half of a UTF-16 pair; fix the "
                            f"file's escapes)", source=source, row=number,
                            field=key if not lone_surrogate(key) else ascii(key))


def lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in a string, or in the keys and values of nested lists and dicts, as an escape."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            return ascii(value[error.start])[1:-1]
        return None
    if isinstance(value, dict):
        return next((bad for item in value.items() for part in item if (bad := lone_surrogate(part))), None)
    if isinstance(value, list):
        return next((bad for item in value if (bad := lone_surrogate(item))), None)
    return None


def read_hub(hub_id: str, revision: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """Every split of a hub dataset (config `name`); offline, the error says how to use a local copy."""
    import datasets

    try:
        loaded = datasets.load_dataset(hub_id, name, revision=revision)
    except Exception as error:  # datasets raises many types when the hub is unreachable
        raise DataError(
            f"could not load '{hub_id}' from the hub ({type(error).__name__}: {str(error)[:200]}). "
            f"If this machine is offline, make a local copy where the hub is reachable with\n"
            f"    python -c \"import datasets; datasets.load_dataset('{hub_id}').save_to_disk('DIR')\"\n"
            f"and run with data.path=DIR (a saved dataset folder, parquet or jsonl also work).",
            source=hub_id,
        ) from None
    return [row for name in sorted(loaded) for row in loaded[name]]
