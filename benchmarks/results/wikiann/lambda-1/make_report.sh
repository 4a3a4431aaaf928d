#!/bin/bash
# Report of the one-seed lambda = 1.0 probe and its comparison with the main table's seed 0 (run from the repository
# root at ef243b1 or later; R = the runs' parent).
R=${R:-/work/bench-runs/wikiann}
python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner --epochs 10 --distill-epochs 3 --evals 10 \
  --freeze-embeddings --target-script none --lambda-label 1.0 --lambda-trans 1.0 --full-encoder assets/me5-small \
  --runs $R/lam1-frozen --out benchmarks/results/wikiann/lambda-1 --cache $R/cache --report-only
python benchmarks/compare_arms.py --a benchmarks/results/wikiann/fca435f-adam/accuracy.json \
  --b benchmarks/results/wikiann/lambda-1/accuracy.json --names "λ = 0.1" "λ = 1.0" \
  --system concner --out benchmarks/results/wikiann/lambda-1/compare-concner
