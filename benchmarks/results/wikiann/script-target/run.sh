#!/bin/bash
# Arm (session 8): bg lexicon translations with script=target (--target-script bg), everything else as main-s8.sh,
# code 02f4bf8 (/work/bench-script; training code identical to main-s8's 5bc116d: the commits between change the
# speed benchmark, the lexicon's new option and docs). Paired with main-s8 (script=keep) seed by seed.
# Rule fixed before the run (benchmarks/README.md): adopt script=target where a scheme exists if the student's
# English dev F1 does not fall by more than 1.0 against main-s8's (the unlabelled-text script statistic already
# shows the mismatch); bg test F1 is analysis, never a criterion.
# Usage: script-target.sh SEEDS... (default 0). Systems in this order: teacher, student, source+translations.
# Uses main's venv with PYTHONPATH at the worktree (no entry point differs between main and 02f4bf8).
cd /work/bench-script
export PYTHONPATH=/work/bench-script OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds ${@:-0} \
  --systems concner concner+distill source+translations --target-script bg --epochs 10 --distill-epochs 3 \
  --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/script-target --out $R/results-script-target --cache $R/cache >> $R/script-target.log 2>&1
