#!/bin/bash
# The script=target arm's source-only runs (session 10), so that the arm holds all four systems at one setting, the
# one that becomes the default (bg lexicon translations in Cyrillic). Source-only trains on English alone, but its
# encoder is pruned to the seed's text, translations included, so it is run in the arm's prepared data rather than
# borrowed from the script=keep table. Waits for the worker PID (a run-s10.sh), then takes whichever source-only
# seed is free (two of these share the seeds through the runs' locks). Usage: run-s10-source-only.sh PID
while kill -0 $1 2>/dev/null; do sleep 20; done
cd /work/bench-s10
export PYTHONPATH=/work/bench-s10 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 \
  --systems source-only --target-script bg --epochs 10 --distill-epochs 3 \
  --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/script-target --out $R/results-script-target --cache $R/cache >> $R/script-target-s10.src.$1.log 2>&1
