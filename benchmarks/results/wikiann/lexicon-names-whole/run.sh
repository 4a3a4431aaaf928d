#!/bin/bash
# One-seed probe (session 6): lexicon entities translated only as whole name entries, else copied
# (--lexicon-names whole), ConCNER teacher, seed 0, code ef243b1.
# Compare English dev with main-frozen seed 0 (72.9). Starts when fewer than 2 workers run. Resumable: rerun it.
cd /work/bench-mem
export PYTHONPATH=/work/bench-mem OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
. $R/slot.sh; wait_slot
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner \
  --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings --lexicon-names whole \
  --full-encoder /work/main/assets/me5-small \
  --runs $R/names-whole-frozen --out $R/results-names-whole-frozen --cache $R/cache >> $R/names-whole-frozen.log 2>&1 &
release_slot_later; wait
