#!/usr/bin/env bash
# The GPU measurements of matbench in one prepared run (at most ~9 minutes), for a lent GPU
# machine with torch, numpy, OpenCV, Pillow and numba installed (no install step: PYTHONPATH).
#   1. benchmarks/gpu_check.py     CUDA paths end to end: train stages 1-3 (fp32, AMP), validate,
#                                  run dim from best.pth                          (<= 150 s)
#   2. benchmarks/training_gpu.py  stage-1 it/s at 320x320, batch 1 and 16, fp32 and AMP,
#                                  100 iterations each; DataLoader samples/s, 8 workers (<= 180 s)
#   3. benchmarks/dim_gpu.py       inference s/Mpx at 1 and 4 Mpx, TF32 off/on, the largest
#                                  image without tiling                           (<= 230 s)
# Usage: OUT=dir bash benchmarks/gpu_all.sh   (logs and JSON files go to $OUT)
set -u
OUT=${OUT:-gpu-results}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.txt" 2>&1
python3 -c "import torch, cv2, numpy, numba, PIL; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cv2', cv2.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__)" > "$OUT/versions.txt" 2>&1
timeout 150 python3 benchmarks/gpu_check.py --device cuda --iterations 20 --out "$OUT/check-work" > "$OUT/gpu_check.log" 2>&1; echo "gpu_check exit $?" >> "$OUT/status.txt"
rm -rf "$OUT/check-work"
timeout 180 python3 benchmarks/training_gpu.py --device cuda --json "$OUT/training_gpu.json" > "$OUT/training_gpu.log" 2>&1; echo "training_gpu exit $?" >> "$OUT/status.txt"
timeout 230 python3 benchmarks/dim_gpu.py --device cuda --budget 200 --json "$OUT/dim_gpu.json" > "$OUT/dim_gpu.log" 2>&1; echo "dim_gpu exit $?" >> "$OUT/status.txt"
cat "$OUT/status.txt"; tail -5 "$OUT"/*.log
