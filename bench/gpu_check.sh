#!/usr/bin/env bash
# Every GPU path of langadapt, once, on one GPU, in under 8 minutes; prints one table.
#
#   bench/gpu_check.sh              # run every check (results in gpu-check-results/)
#   bench/gpu_check.sh --dry-run    # list the checks and their commands, run nothing
#
# Checks: bf16 full fine-tuning of SmolLM2 (tokens/s, MFU), LoRA and QLoRA (step time, peak memory),
# flash-attention packed logits equal to per-document logits, 8/4-bit loading with a greedy
# generation, FSDP on one process, and `serve --engine vllm` answering one request. Each check is a
# small python file under bench/gpu/ run as its own process with its own time limit, so a hang or a
# crash in one path is reported in the table and the others still run. A check whose package
# (bitsandbytes, flash-attn, vllm) is missing is reported as skip with the reason.
# Environment: GPU_CHECK_MODEL (default smollm2-135m-instruct), GPU_CHECK_RESULTS, PYTHON.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
RESULTS="${GPU_CHECK_RESULTS:-gpu-check-results}"
BUDGET_S="${GPU_CHECK_BUDGET_S:-460}"   # a check starts only if its limit fits: under 8 minutes in all
FSDP_CONFIG=configs/accelerate/fsdp.yaml

# name | time limit (s) | command
CHECKS=(
  "train_full|75|$PYTHON bench/gpu/train_check.py full --steps 20"
  "train_lora|50|$PYTHON bench/gpu/train_check.py lora --steps 20"
  "train_qlora|60|$PYTHON bench/gpu/train_check.py qlora --steps 20"
  "flash_packed|45|$PYTHON bench/gpu/flash_packed.py"
  "load_8bit|45|$PYTHON bench/gpu/quant_load.py 8bit"
  "load_4bit|45|$PYTHON bench/gpu/quant_load.py 4bit"
  "fsdp_1proc|75|$PYTHON -m accelerate.commands.launch --config_file $FSDP_CONFIG --num_processes 1 bench/gpu/train_check.py full --steps 10 --name fsdp_1proc"
  "vllm_serve|120|$PYTHON bench/gpu/vllm_serve.py"
)

if [ "${1:-}" = "--dry-run" ]; then
  total=0
  echo "bench/gpu_check.sh would run (results in $RESULTS/):"
  for entry in "${CHECKS[@]}"; do
    IFS='|' read -r name limit cmd <<<"$entry"
    for file in $cmd; do
      case "$file" in bench/gpu/*.py|configs/*) [ -f "$file" ] || { echo "missing: $file" >&2; exit 1; } ;; esac
    done
    printf '  %-13s %4ss  %s\n' "$name" "$limit" "$cmd"
    total=$((total + limit))
  done
  echo "time limits add up to ${total}s; no check starts after ${BUDGET_S}s"
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: bench/gpu_check.sh [--dry-run]" >&2; exit 2; }

export GPU_CHECK_RESULTS="$RESULTS" PYTHONPATH="bench/gpu${PYTHONPATH:+:$PYTHONPATH}" TOKENIZERS_PARALLELISM=false
rm -rf "$RESULTS"
mkdir -p "$RESULTS/logs"
"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('GPU:', torch.cuda.get_device_name())" \
  || { echo "bench/gpu_check.sh: needs a CUDA GPU (use --dry-run to list the checks)" >&2; exit 2; }
started=$(date +%s)
for entry in "${CHECKS[@]}"; do
  IFS='|' read -r name limit cmd <<<"$entry"
  elapsed=$(( $(date +%s) - started ))
  if [ $((elapsed + limit)) -gt "$BUDGET_S" ]; then
    printf '{"name": "%s", "status": "skip", "note": "time budget spent (%ss)"}\n' "$name" "$elapsed" > "$RESULTS/$name.json"
    continue
  fi
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" $cmd > "$RESULTS/logs/$name.log" 2>&1
  rc=$?
  if [ ! -f "$RESULTS/$name.json" ]; then
    note=$([ $rc -eq 124 ] && echo "timed out after ${limit}s" || echo "exited $rc without a result")
    printf '{"name": "%s", "status": "fail", "note": "%s; see %s"}\n' "$name" "$note" "$RESULTS/logs/$name.log" > "$RESULTS/$name.json"
  fi
done
echo
"$PYTHON" bench/gpu/table.py "$RESULTS"
status=$?
echo "total $(( $(date +%s) - started ))s"
exit $status
