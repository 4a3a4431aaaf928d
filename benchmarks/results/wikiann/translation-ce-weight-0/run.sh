#!/bin/bash
# translation_ce_weight = 0 arm (session 5, started at its end): ConCNER teacher + student, 3 seeds, code ef243b1 (session 6 restart; training code = 315e18b + release_memory.v1).
# Pair with the main table (keep arm) via compare_arms.py. Usage: tcw0.sh [N_WORKERS] [FIRST]. Resumable: rerun it.
cd /work/bench-mem
export PYTHONPATH=/work/bench-mem OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
for i in $(seq ${2:-1} ${1:-1}); do
  /work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --systems concner concner+distill \
    --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings --translation-ce-weight 0.0 \
    --full-encoder /work/main/assets/me5-small \
    --runs $R/tcw0-frozen --out $R/results-tcw0-frozen --cache $R/cache >> $R/tcw0-frozen.worker.$i.log 2>&1 &
  sleep 30
done
wait
