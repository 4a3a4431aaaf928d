#!/bin/bash
# Budget check for issue 9: the concner teacher, seed 0, 20 passes instead of 10 (same commit fca435f, same settings otherwise).
cd /work/bench-9
export PYTHONPATH=/work/bench-9 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
/work/venv-bench/bin/python benchmarks/accuracy.py --dataset wikiann --seeds 0 --systems concner --epochs 20 --distill-epochs 3 \
  --evals 20 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/teacher20 --out $R/results-teacher20 --cache $R/cache
