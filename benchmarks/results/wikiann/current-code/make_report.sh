#!/bin/bash
# The table at the current training code with Bulgarian lexicon translations as written (script=keep): the main table
# until session 10 made script=auto (bg in Cyrillic) the lexicon's default. Runs: session 8 at 5bc116d (run.sh beside
# this file), session 9 at dee2747 after restoring session 8's (run-s9.sh). From the repository root; R = the runs'
# parent. `--target-script none` is how the current code names that setting (these runs recorded it as unset).
R=${R:-/work/bench-runs/wikiann}
D=benchmarks/results/wikiann/current-code
python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --epochs 10 --distill-epochs 3 --evals 10 \
  --target-script none --freeze-embeddings --full-encoder assets/me5-small --runs $R/main-s8 --out $D \
  --cache $R/cache --report-only
