#!/bin/bash
# Is a run reproducible? Source-only seed 0, script=keep, re-run in a fresh runs folder with the keep table's
# prepared data (same cache folder, same flags; worktree /work/bench-s10 at a165fc6, whose code predates script=auto,
# so no --target-script there means keep; training code identical to 5bc116d), to
# compare with that table's seed-0 source-only (English dev 72.0311946118 at step 170). Session 10 found source-only
# 0.8 lower on English dev in the script=auto data, where only the pruned vocabulary differs; this says whether a
# plain re-run already moves that much.
cd /work/bench-s10
export PYTHONPATH=/work/bench-s10 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems source-only --epochs 10 \
  --distill-epochs 3 --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/rerun-src-keep --out $R/results-rerun-src-keep --cache $R/cache >> $R/rerun-src-keep.log 2>&1
