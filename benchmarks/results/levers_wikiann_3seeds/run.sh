#!/bin/bash
# Issue 10: do the project's default speed levers (frozen input embeddings + bf16 autocast) cost F1?
# WikiAnn, source-only, 3 seeds, 10 passes over 1000 English sentences, English dev selects; the two arms
# differ only in the levers. Made 2026-11-26 from a checkout of commit 82709ce (repository root), one
# torch thread per run, the two arms in parallel.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=benchmarks/runs/levers3
COMMON="--dataset wikiann --seeds 0 1 2 --systems source-only --epochs 10 --evals 10 --full-encoder assets/me5-small"
python benchmarks/accuracy.py $COMMON --runs $R/none --out $R/results-none > $R/none.log 2>&1 &
python benchmarks/accuracy.py $COMMON --freeze-embeddings --autocast bfloat16 --runs $R/levers --out $R/results-levers > $R/levers.log 2>&1 &
wait
python benchmarks/compare_arms.py --a $R/results-none/accuracy.json --b $R/results-levers/accuracy.json \
  --names "no levers (trained embeddings, fp32)" "default levers (frozen embeddings + bf16)" \
  --system source-only --out benchmarks/results/levers_wikiann_3seeds
