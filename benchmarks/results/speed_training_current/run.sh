#!/bin/bash
# Session 8: training speed at identical math, at the current code (be4196b: the config's before_update trim is
# now inside our timed step), 24 rounds x 3 reps, the round count fixed before the start; judged by the 95 %
# t-interval of the geometric mean of per-round ratios. Two WikiAnn benchmark workers run beside it (load ~3).
cd /work/speed-s8
PYTHONPATH=/work/speed-s8 OMP_NUM_THREADS=1 /work/main/.venv/bin/python benchmarks/speed.py --encoder /work/main/assets/me5-small \
  --threads 1 --rounds 24 --lever-rounds 0 --reps 3 --only raw_train,ours_train_ce --out "$1"
