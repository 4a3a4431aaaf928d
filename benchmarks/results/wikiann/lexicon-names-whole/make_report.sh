#!/bin/bash
# Report of the one-seed names=whole probe and its comparison with the main table's seed 0 (run from the repository
# root at ef243b1 or later; R = the runs' parent).
R=${R:-/work/bench-runs/wikiann}
python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner --epochs 10 --distill-epochs 3 --evals 10 \
  --freeze-embeddings --target-script none --lexicon-names whole --full-encoder assets/me5-small \
  --runs $R/names-whole-frozen --out benchmarks/results/wikiann/lexicon-names-whole --cache $R/cache --report-only
python benchmarks/compare_arms.py --a benchmarks/results/wikiann/fca435f-adam/accuracy.json \
  --b benchmarks/results/wikiann/lexicon-names-whole/accuracy.json --names "names=words" "names=whole" \
  --system concner --out benchmarks/results/wikiann/lexicon-names-whole/compare-concner
