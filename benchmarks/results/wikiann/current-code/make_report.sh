#!/bin/bash
# Report of the main table's re-run at the current code (session 8, runs at 5bc116d; run.sh beside this file), from
# the repository root; R = the runs' parent. Partial until all 3 seeds x 4 systems are finished (the report says so).
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann/current-code
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --epochs 10 --distill-epochs 3 --evals 10 \
  --freeze-embeddings --full-encoder assets/me5-small --runs $R/main-s8 --out $D --cache $R/cache --report-only
