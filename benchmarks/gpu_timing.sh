#!/usr/bin/env bash
# Timing and size on an NVIDIA GPU: the chapter-06 report at the paper's batch of 128.
#
# Usage (from anywhere inside the checkout):   bash benchmarks/gpu_timing.sh
# Writes results/gpu/timing.json and results/gpu/mimicking_real.json (and their .log files). Needs the project's Python environment
# (.venv, or $PYTHON pointing at a Python with the library installed) and one CUDA device; no network:
# the architectures are built offline with random weights (timing does not depend on the weights).
#
# Budget: under 5 minutes on one recent GPU. The paper profile lists all six real architectures
# (plus the three tiny mini models); each is timed full, pruned by 40 % and as 1- and 2-stage mimic
# models, at batch sizes 1 and 128. The paper used 100 warm-up passes; 20 are plenty to reach steady
# clocks and keep the whole run short, and 10 repeats give the median and IQR. A hard timeout stops
# the run cleanly at 290 s.
# Then the mimicking chapter's 12 variants and the head alone, one clip at a time, on the same
# architectures (results/gpu/mimicking_real.json; about a minute, stopped at 200 s).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
WARMUP="${WARMUP:-20}"
REPEATS="${REPEATS:-10}"
OUT_DIR="results/gpu"

# Keep the library out of any user cache; the report itself is the only output.
export REDUNDANCY_CACHE="${REDUNDANCY_CACHE:-$ROOT/.cache/redundancy}"
export PYTHONPATH="$ROOT/lib${PYTHONPATH:+:$PYTHONPATH}"

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PYTHON" - <<'PY'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu_timing.sh: torch.cuda.is_available() is False: this script needs an NVIDIA GPU")
import redundancy  # noqa: F401  (fails early if the library is not installed)
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
PY

mkdir -p "$OUT_DIR"
start=$(date +%s)
timeout 290 "$PYTHON" -m redundancy timing \
  --profile paper --device cuda \
  --batch-sizes 1 128 --warmup "$WARMUP" --repeats "$REPEATS" \
  --out "$OUT_DIR/timing.json" --no-progress 2>&1 | tee "$OUT_DIR/timing.log"
# The mimicking chapter's variants (2 types x 1-2 layers x z = 32, 768, 4096, and the head alone) on the
# real architectures, one clip at a time, normalised to the full model: the paper's Tables 1-4 times.
timeout 200 "$PYTHON" -m redundancy mimic-costs \
  --profile paper --device cuda --warmup "$WARMUP" --repeats "$REPEATS" \
  --out "$OUT_DIR/mimicking_real.json" 2>&1 | tee "$OUT_DIR/mimicking_real.log"
echo "gpu_timing.sh: done in $(( $(date +%s) - start )) s -> $OUT_DIR/timing.json, $OUT_DIR/mimicking_real.json"
