#!/usr/bin/env bash
# The prepared GPU check: both accelerator.py runs in one command, for a lent GPU machine
# (this project's `device` tool: one H200, about 15 minutes of device time per session,
# no network there; its image has python3 with torch, jax[cuda], flax, optax, orbax,
# chex, scipy, matplotlib and tqdm, but neither lrsched nor PyHessian nor the data).
#
#   bash benchmarks/gpu_check.sh prepare      # here, once: fills .device/ (ignored by git)
#   device run: command "bash benchmarks/gpu_check.sh", carry [".device"], timeout_s 600
#
# `prepare` copies the CIFAR-10 subset (../shared/data, 17 MB; it does not travel by
# itself) and downloads the PyHessian 0.1 wheel (pure Python) into .device/. The run
# installs that wheel, puts this checkout on PYTHONPATH and writes to $OUT (what comes
# back): results.md (the two tables, as benchmarks/RESULTS.md takes them), hessian.log and
# full.log. First the eigenvalue comparison against PyHessian (--hessian: top-1/5/10 on
# WRN-16-4, issue 15's >= 8x goal), then the full table (train steps vs PyTorch in float32
# and bfloat16, HVP / gradient, top-10, a one-minute training run: issue 18), each under
# its own time limit so that together they end inside one 10-minute command.
# GPU_CHECK_SMOKE=1 runs both on their CPU smoke shapes instead (checks this script here:
# OUT=/tmp/out GPU_CHECK_SMOKE=1 bash benchmarks/gpu_check.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
WHERE=.device

if [ "${1:-}" = "prepare" ]; then
  mkdir -p "$WHERE"
  cp ../shared/data/cifar10_subset.npz "$WHERE/" || exit 1
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$WHERE" pyhessian==0.1 || exit 1
  du -sh "$WHERE"
  exit 0
fi

: "${OUT:?OUT must name the folder for the results (the device tool sets it)}"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ls "$WHERE"/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gpu_check_site "$WHERE"/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/gpu_check_site"
fi
DATA=(); [ -f "$WHERE/cifar10_subset.npz" ] && DATA=(--data "$WHERE/cifar10_subset.npz")
python3 -c "import jax, torch; print('jax', jax.__version__, jax.devices(), '| torch', \
torch.__version__, torch.cuda.is_available())" 2>&1 | tee "$OUT/versions.log"
if [ "${GPU_CHECK_SMOKE:-0}" = "1" ]; then
  HESSIAN=(--hessian-cpu --smoke); FULL=(--smoke)
else
  HESSIAN=(--hessian); FULL=()
fi
status=0
timeout 270 python3 benchmarks/accelerator.py "${HESSIAN[@]}" "${DATA[@]}" --out "$OUT/results.md" \
  2>&1 | tee "$OUT/hessian.log" || status=1
timeout 300 python3 benchmarks/accelerator.py "${FULL[@]}" "${DATA[@]}" --out "$OUT/results.md" \
  2>&1 | tee "$OUT/full.log" || status=1
exit $status
