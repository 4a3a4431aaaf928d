#!/bin/bash
# One-seed probe (session 6): contrastive weights lambda_label = lambda_trans = 1.0 (default 0.1), ConCNER teacher,
# seed 0, code ef243b1 (release_memory.v1). Compare English dev with main-frozen seed 0 (72.9).
# Starts when fewer than 2 benchmark workers run (at most 2 on the 2 cores). Resumable: rerun it.
cd /work/bench-mem
export PYTHONPATH=/work/bench-mem OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
. $R/slot.sh; wait_slot
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner \
  --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings --lambda-label 1.0 --lambda-trans 1.0 \
  --full-encoder /work/main/assets/me5-small \
  --runs $R/lam1-frozen --out $R/results-lam1-frozen --cache $R/cache >> $R/lam1-frozen.log 2>&1 &
release_slot_later; wait
