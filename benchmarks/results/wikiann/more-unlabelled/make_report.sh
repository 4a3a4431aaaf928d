#!/bin/bash
# Report of the one-seed probe with 4000 unlabelled sentences per language and 1 distillation pass, and its
# comparison with the main table's seed 0 (run from the repository root at ef243b1 or later; R = the runs' parent).
R=${R:-/work/bench-runs/wikiann}
python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner concner+distill --epochs 10 \
  --distill-epochs 1 --evals 10 --freeze-embeddings --target-script none --n-unlabelled 4000 --full-encoder assets/me5-small \
  --runs $R/unl4k-frozen --out benchmarks/results/wikiann/more-unlabelled --cache $R/cache --report-only
for sys in concner concner+distill; do
  python benchmarks/compare_arms.py --a benchmarks/results/wikiann/fca435f-adam/accuracy.json \
    --b benchmarks/results/wikiann/more-unlabelled/accuracy.json --names "1000 unlabelled, 3 passes" \
    "4000 unlabelled, 1 pass" --system $sys --out benchmarks/results/wikiann/more-unlabelled/compare-${sys/+/-}
done
