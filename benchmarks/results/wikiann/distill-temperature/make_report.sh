#!/bin/bash
# Reports of the distillation-temperature probe (seeds 0, 1 and 2; T = 1.0 control, T = 2.0) and their comparison (run from
# the repository root at a11f451 or later; R = the runs' parent).
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann/distill-temperature
for T in 1 2; do
  flag=(); [ $T = 2 ] && flag=(--distill-temperature 2.0)
  python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --systems concner concner+distill --epochs 10 \
    --distill-epochs 3 --evals 10 --freeze-embeddings --target-script none "${flag[@]}" --full-encoder assets/me5-small \
    --runs $R/dT$T-frozen --out $D/T$T --cache $R/cache --report-only
done
python benchmarks/compare_arms.py --a $D/T1/accuracy.json --b $D/T2/accuracy.json --names "T = 1.0" "T = 2.0" \
  --system concner+distill --out $D/compare-student
