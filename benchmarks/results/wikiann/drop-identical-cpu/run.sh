#!/bin/bash
# Drop arm on CPU (session 5): ConCNER teacher + student with --drop-identical, 3 seeds, code 2b6abd4
# (training code = b5958e2, the GPU run's). Usage: drop.sh [N_WORKERS]. Resumable: rerun it.
cd /work/bench-drop
export PYTHONPATH=/work/bench-drop OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
for i in $(seq ${2:-1} ${1:-1}); do
  /work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 1 2 --systems concner concner+distill \
    --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings --drop-identical --full-encoder /work/main/assets/me5-small \
    --runs $R/drop-frozen --out $R/results-drop-frozen --cache $R/cache >> $R/drop-frozen.worker.$i.log 2>&1 &
  sleep 30
done
wait
