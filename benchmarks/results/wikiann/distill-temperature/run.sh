#!/bin/bash
# One-seed probe (session 7, 2026-11-27): the student's soft-target temperature, T = 2.0 against a control at the
# configs' T = 1.0, the control at code c297304, T = 2.0 at a11f451 (same training code; /work/bench-s7), both from the main table's seed-0 teacher (code fca435f:
# its model-best, soft annotations and exported encoder hard-linked; the teacher is only re-evaluated). The control
# is needed because the main table's student was trained at fca435f (thinc's Adam), these at c297304 (AdamW.v1).
# Rule fixed before the run: T = 2.0 is worth three seeds only if its English dev F1 is >= 1.0 above the control's;
# target F1 is analysis only. Starts when fewer than 2 benchmark workers run. Resumable: rerun it.
cd /work/bench-s7
export PYTHONPATH=/work/bench-s7 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
. $R/slot.sh; wait_slot
echo 1000 > /proc/$$/oom_score_adj
for T in 1 2; do
  flag=(); [ $T = 2 ] && flag=(--distill-temperature 2.0)
  /work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner concner+distill \
    --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings "${flag[@]}" \
    --full-encoder /work/main/assets/me5-small \
    --runs $R/dT$T-frozen --out $R/results-dT$T-frozen --cache $R/cache >> $R/dT$T-frozen.log 2>&1 &
  [ $T = 1 ] && release_slot_later
  wait
done
