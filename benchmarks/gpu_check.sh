#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: train pong-ppo for a few minutes in float32, then in
# mixed_bfloat16, with the learner on the GPU (--learner-gpus 1) and the rollout workers on the
# CPUs. For each: whether the learner was placed on the GPU (the run's "learner on /GPU:0"
# line), agent steps/s over the run, and the GPU's mean and peak utilisation (nvidia-smi,
# sampled each second). One JSON line per precision on stdout. Run from the repository root:
#
#   bash benchmarks/gpu_check.sh                      # 300 s per precision
#   RUN_SECONDS=120 WORKERS=8 bash benchmarks/gpu_check.sh
#
# Exit status 2 where there is no GPU (no nvidia-smi, or it lists none).
set -euo pipefail

RUN_SECONDS=${RUN_SECONDS:-300}
WORKERS=${WORKERS:-$(( $(nproc) > 4 ? $(nproc) - 2 : 2 ))}
PYTHON=${PYTHON:-python}

if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi is missing or lists none)" >&2
  exit 2
fi
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
work=$(mktemp -d -t distrl-gpu-check.XXXXXX)
trap 'kill "${sampler:-0}" 2> /dev/null || true; rm -rf "$work"' EXIT

for precision in float32 mixed_bfloat16; do
  nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -l 1 \
    > "$work/util-$precision.txt" &
  sampler=$!
  "$PYTHON" -m distrl.launch --preset pong-ppo --workers "$WORKERS" --learner-gpus 1 \
    --max-seconds "$RUN_SECONDS" --set "model.precision=$precision" \
    --logdir "$work/runs" --json-summary "$work/summary-$precision.json" \
    --progress-interval 30 > "$work/console-$precision.txt" 2>&1
  kill "$sampler" 2> /dev/null || true
  wait "$sampler" 2> /dev/null || true
  "$PYTHON" - "$precision" "$gpu" "$work" << 'PY'
import json, sys
precision, gpu, work = sys.argv[1:]
summary = json.load(open(f"{work}/summary-{precision}.json"))
util = [float(x) for x in open(f"{work}/util-{precision}.txt").read().split() if x.strip()]
console = open(f"{work}/console-{precision}.txt").read()
print(json.dumps({
    "precision": precision, "gpu": gpu,
    "learner_on_gpu": "learner on /GPU:0" in console,
    "agent_steps": summary["env_steps"], "wall_s": summary["wall_s"],
    "agent_steps_per_s": round(summary["env_steps"] / summary["wall_s"], 1),
    "gpu_util_mean_pct": round(sum(util) / len(util), 1) if util else None,
    "gpu_util_max_pct": max(util) if util else None,
    "final_mean_return": summary["final_mean_return"],
}))
PY
done
