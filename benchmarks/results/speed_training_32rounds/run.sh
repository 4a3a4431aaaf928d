#!/bin/bash
# Session 5: quiet training speed run, identical math only, 32 rounds x 3 reps (planned at 32 before the start;
# judged by the 95 % t-interval of the geometric mean of per-round ratios), code b5958e2.
cd /work/speed-s5
PYTHONPATH=/work/speed-s5 OMP_NUM_THREADS=1 /work/main/.venv/bin/python benchmarks/speed.py --encoder /work/main/assets/me5-small \
  --threads 1 --rounds 32 --lever-rounds 0 --reps 3 --only raw_train,ours_train_ce --out "$1"
