#!/bin/bash
# Budget check at the current code (session 10): the concner teacher at 20 passes instead of 10, at the main table's
# settings (lexicon script=auto) otherwise; the 10-pass teachers of the main table are flagged "still rising" in all
# three seeds (+1.5 to +2.1 in their last quarter). The rule, as for the fca435f probe: the budget with the higher
# English dev F1 of the selected model; target F1 is analysis only. Worktree /work/bench-s10 (training code
# identical to the main table's runs). Usage: run.sh SEED (one worker per seed, one torch thread).
cd /work/bench-s10
export PYTHONPATH=/work/bench-s10 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds $1 --systems concner --epochs 20 \
  --distill-epochs 3 --evals 20 --target-script bg --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/teacher20-auto --out $R/results-teacher20-auto --cache $R/cache >> $R/teacher20-auto.seed$1.log 2>&1
