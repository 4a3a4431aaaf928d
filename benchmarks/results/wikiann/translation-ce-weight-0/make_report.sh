#!/bin/bash
# Report and paired comparisons of this arm (run from the repository root at ef243b1 or later; R = the runs' parent).
R=${R:-/work/bench-runs/wikiann}
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --systems concner concner+distill --epochs 10 \
  --distill-epochs 3 --evals 10 --freeze-embeddings --target-script none --translation-ce-weight 0.0 --full-encoder assets/me5-small \
  --runs $R/tcw0-frozen --out benchmarks/results/wikiann/translation-ce-weight-0 --cache $R/cache --report-only
for sys in concner concner+distill; do
  python benchmarks/compare_arms.py --a benchmarks/results/wikiann/fca435f-adam/accuracy.json \
    --b benchmarks/results/wikiann/translation-ce-weight-0/accuracy.json --names "CE weight 1" "CE weight 0" \
    --system $sys --out benchmarks/results/wikiann/translation-ce-weight-0/compare-${sys/+/-}
done
