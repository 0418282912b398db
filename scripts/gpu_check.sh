#!/usr/bin/env bash
# GPU readiness check for renovo, on one CUDA GPU, in under 8 minutes.
#
#   bash scripts/gpu_check.sh [OUT_DIR]        (default: $OUT, else runs/gpu_check-<time>)
#
# Everything goes under OUT_DIR:
#   env.txt                 nvidia-smi, torch and renovo versions
#   train/<config>_<preset>/ 200 bf16-mixed training steps of every shipped config at small and base
#   sequence/               `renovo sequence` beam 5 on CUDA (small and base models) + `renovo evaluate`
#   bench/                  `renovo bench losses|train|decode --device cuda` JSON
#   memory.json             peak CUDA memory per preset (small, base) and batch size (32, 96), bf16-mixed
#   agreement.json          one fixed batch: the same losses on CUDA as on the CPU (float32, TF32 off)
#   logs/                   one log per step;  summary.md: each step's status and time
#
# PYTHON selects the interpreter (default: python). Steps run under `timeout`; a failed
# step is recorded and the rest still run; the exit status is 1 if any step failed.
set -uo pipefail

PY="${PYTHON:-python}"
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device (torch.cuda.is_available() is False for $PY); nothing was run" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${1:-${OUT:-$ROOT/runs/gpu_check-$(date +%Y%m%d-%H%M%S)}}"
mkdir -p "$OUT_DIR"/{logs,train,sequence,bench,data}
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
SUMMARY="$OUT_DIR/summary.md"
CONFIGS="ce_only default old_losses gaussian_losses gaussian_log1p huber_l1 gaussian_multiscale gaussian_variance_aware gaussian_straight_through"
PARALLEL="${GPU_CHECK_PARALLEL:-6}"   # training runs sharing the GPU at once
START=$(date +%s)
FAILED=0
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

renovo() { "$PY" -m renovo.cli "$@"; }
export -f renovo
export PY

printf '# renovo GPU check\n\nCommand: `bash scripts/gpu_check.sh %s`  \nStarted %s\n\n| step | status | seconds |\n|---|---|---:|\n' \
    "$OUT_DIR" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$SUMMARY"

# step NAME TIMEOUT_S COMMAND...: run one step, log it, record its status.
step() {
    local name="$1" limit="$2"; shift 2
    local t0=$(date +%s) status
    echo "[$(date +%H:%M:%S)] $name"
    if timeout "$limit" bash -c '"$@"' step "$@" > "$OUT_DIR/logs/$name.log" 2>&1; then status=ok; else status="FAILED (exit $?)"; FAILED=1; fi
    echo "| $name | $status | $(( $(date +%s) - t0 )) |" >> "$SUMMARY"
    [[ "$status" == ok ]] || { echo "  $name: $status; see logs/$name.log"; tail -5 "$OUT_DIR/logs/$name.log"; }
}

environment() {
    nvidia-smi || true
    "$PY" - <<'EOF'
import platform, torch, renovo, lightning
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda,
      "| lightning", lightning.__version__, "| renovo", getattr(renovo, "__version__", "?"))
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i}", p.name, f"{p.total_memory / 2**30:.1f} GiB", "bf16" if torch.cuda.is_bf16_supported() else "no bf16")
EOF
    git -C "$ROOT" rev-parse HEAD 2>/dev/null || true
}

train_one() {  # CONFIG PRESET OUT_DIR
    local config="$1" preset="$2" out="$3"
    timeout 300 "$PY" -m renovo.cli train --config "$config" --preset "$preset" --max-steps 200 \
        --precision bf16-mixed --accelerator gpu --devices 1 --seed 0 --out "$out/train/${config}_${preset}" \
        --no-progress --set trainer.val_every_n_steps=200 --set data.num_workers=1 --set data.val_size=128 \
        > "$out/logs/train_${config}_${preset}.log" 2>&1 \
        && echo "ok ${config}_${preset}" || { echo "FAILED ${config}_${preset}"; return 1; }
}
export -f train_one

train_all() {
    for preset in small base; do for config in $CONFIGS; do echo "$config $preset"; done; done \
        | xargs -P "$PARALLEL" -L 1 bash -c 'train_one "$0" "$1" "'"$OUT_DIR"'"'
}

sequence_all() {
    renovo simulate -n 256 -o "$OUT_DIR/data/test.mgf" --seed 7 || return 1
    for preset in small base; do
        local ckpt="$OUT_DIR/train/gaussian_losses_${preset}/checkpoints/last.ckpt"
        renovo sequence "$OUT_DIR/data/test.mgf" --model "$ckpt" -o "$OUT_DIR/sequence/beam5_${preset}.mztab" \
            --beam 5 --device cuda --batch-size 64 || return 1
        renovo evaluate "$OUT_DIR/sequence/beam5_${preset}.mztab" --labels "$OUT_DIR/data/test.mgf" \
            -o "$OUT_DIR/sequence/beam5_${preset}_evaluation" || return 1
    done
}

bench_all() {
    renovo bench losses --device cuda --batch-sizes 32,96 --repeats 3 --max-seconds 10 \
        --json "$OUT_DIR/bench/losses.json" || return 1
    for preset in small base; do
        renovo bench train --device cuda --precision bf16 --preset "$preset" --rounds 3 --steps 10 \
            --json "$OUT_DIR/bench/train_${preset}_bf16.json" || return 1
        renovo bench decode --device cuda --preset "$preset" --batch-size 64 --batches 2 \
            --json "$OUT_DIR/bench/decode_${preset}.json" || return 1
    done
}

export OUT_DIR ROOT CONFIGS PARALLEL
export -f environment train_all sequence_all bench_all

step environment 60 environment
cp "$OUT_DIR/logs/environment.log" "$OUT_DIR/env.txt"
step train_every_config_small_base 330 train_all
step sequence_beam5_cuda 120 sequence_all
step bench_cuda 180 bench_all
step memory 120 "$PY" "$ROOT/scripts/gpu_check.py" memory --json "$OUT_DIR/memory.json"
step agreement_cuda_cpu 120 "$PY" "$ROOT/scripts/gpu_check.py" agreement --device cuda --json "$OUT_DIR/agreement.json"

ELAPSED=$(( $(date +%s) - START ))
printf '\nTotal: %d s. %s\n' "$ELAPSED" "$([[ $FAILED == 0 ]] && echo 'All steps passed.' || echo 'Some steps FAILED: see logs/.')" >> "$SUMMARY"
cat "$SUMMARY"
exit "$FAILED"
