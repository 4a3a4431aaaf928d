#!/bin/bash
# Report of the 20-pass teacher probe at the current code (run.sh beside this file) and its pairing with the main
# table's 10-pass teachers (same seeds, same settings otherwise). From the repository root; R = the runs' parent.
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann/teacher-20-passes-auto
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 --systems concner --epochs 20 --distill-epochs 3 \
  --evals 20 --freeze-embeddings --full-encoder assets/me5-small --runs $R/teacher20-auto --out $D \
  --cache $R/cache --report-only
python benchmarks/compare_arms.py --a benchmarks/results/wikiann/accuracy.json --b $D/accuracy.json \
  --names "10 passes" "20 passes" --system concner --out $D/compare-concner
