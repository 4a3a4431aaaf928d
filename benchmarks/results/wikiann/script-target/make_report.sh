#!/bin/bash
# The main table (benchmarks/results/wikiann/accuracy.*) at the lexicon's default since session 10, script=auto
# (Bulgarian lexicon translations in Cyrillic): the script=target arm's runs, all with identical training code —
# seed 0 at 02f4bf8 (run.sh, session 8; restored from this arm's session-9 report), the teachers and students of
# seeds 1-2 at dee2747 (run-s9.sh), source+translations seeds 1-2 and source-only seeds 0-2 in session 10
# (run-s10.sh, run-s10-source-only.sh). Then each system paired with the script=keep table (current-code/).
# From the repository root; R = the runs' parent.
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --epochs 10 --distill-epochs 3 --evals 10 \
  --freeze-embeddings --full-encoder assets/me5-small --runs $R/script-target --out $D --cache $R/cache --report-only
for s in source-only source+translations concner concner+distill; do
  python benchmarks/compare_arms.py --a $D/current-code/accuracy.json --b $D/accuracy.json \
    --names "script=keep" "script=auto" --system $s --out $D/script-target/compare-${s//+/-}
done
