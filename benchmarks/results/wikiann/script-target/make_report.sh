#!/bin/bash
# Report of the script=target arm (bg lexicon translations in Cyrillic; run.sh beside this file) and its comparison
# with the main table's re-run at the same training code (current-code/, script=keep), from the repository root.
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann/script-target
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --systems concner concner+distill source+translations \
  --target-script bg --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings --full-encoder assets/me5-small \
  --runs $R/script-target --out $D --cache $R/cache --report-only
for s in concner concner+distill source+translations; do
  python benchmarks/compare_arms.py --a benchmarks/results/wikiann/accuracy.json --b $D/accuracy.json \
    --names "script=keep" "script=target" --system $s --out $D/compare-${s//+/-}
done
