#!/bin/bash
# The script=target arm, finished (session 10): source+translations seeds 1 and 2 (one worker each, one torch
# thread), at the commit of the worktree /work/bench-s10 (training code identical to dee2747 and 02f4bf8). The runs
# folder of session 9 survived on this machine (teachers, students, seed 0's restored results, prepared data).
# Usage: run-s10.sh SEED
cd /work/bench-s10
export PYTHONPATH=/work/bench-s10 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds $1 \
  --systems source+translations --target-script bg --epochs 10 --distill-epochs 3 \
  --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/script-target --out $R/results-script-target --cache $R/cache >> $R/script-target-s10.seed$1.log 2>&1
