#!/bin/bash
# The main table (benchmarks/results/wikiann/accuracy.*): the re-run at the current code (session 8, runs at 5bc116d,
# run.sh beside this file; session 9, runs at dee2747 after restoring session 8's, run-s9.sh), from the repository
# root; R = the runs' parent. Partial until all 3 seeds x 4 systems are finished (the report says so).
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --epochs 10 --distill-epochs 3 --evals 10 \
  --freeze-embeddings --full-encoder assets/me5-small --runs $R/main-s8 --out $D --cache $R/cache --report-only
