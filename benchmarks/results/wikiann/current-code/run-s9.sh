#!/bin/bash
# Main WikiAnn table re-run at the current code, continued (session 9, new machine): the 6 runs finished in
# session 8 (5bc116d) were restored from benchmarks/results/wikiann/current-code/accuracy.json by
# benchmarks/restore_runs.py; the rest run here at 62dcd36 (training code identical to 5bc116d), same flags.
# Two copies of this command share the work through the run locks. Resumable: rerun it.
cd /work/bench-s9
export PYTHONPATH=/work/bench-s9 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --epochs 10 --distill-epochs 3 \
  --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/main-s8 --out $R/results-main-s8 --cache $R/cache >> $R/main-s9.$1.log 2>&1
