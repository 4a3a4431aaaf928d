#!/bin/bash
# Seeds 1 and 2 of the soft-target temperature probe (session 7): SEED (default 1), T = 2.0 and its T = 1.0 control, both at
# code a11f451 (/work/bench-s7), both from the main table's teacher of that seed (fca435f; hard-linked, only re-evaluated).
# Same rule as distillT.sh (seed 0: T = 2.0 English dev +2.4 over its control, >= 1.0, hence a second seed).
# Usage: distillT-s1.sh T (1 or 2). Starts when fewer than 2 benchmark workers run. Resumable: rerun it.
cd /work/bench-s7
export PYTHONPATH=/work/bench-s7 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
T=$1
. $R/slot.sh; wait_slot
echo 1000 > /proc/$$/oom_score_adj
flag=(); [ $T = 2 ] && flag=(--distill-temperature 2.0)
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds ${SEED:-1} --systems concner concner+distill \
  --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings "${flag[@]}" \
  --full-encoder /work/main/assets/me5-small \
  --runs $R/dT$T-frozen --out $R/results-dT$T-frozen --cache $R/cache >> $R/dT$T-frozen.log 2>&1 &
release_slot_later; wait
