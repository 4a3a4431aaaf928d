#!/bin/bash
# Controlled comparison for the bf16 lever (issue 10): WikiAnn seed 0, source-only, frozen input
# embeddings, 10 passes over the 1000 English sentences; float32 vs bfloat16 autocast, all else equal.
# Made at commit 7aa42d7 (run from a checkout of it, repository root), one torch thread per run.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=benchmarks/runs/levers
COMMON="--dataset wikiann --seeds 0 --systems source-only --epochs 10 --evals 10 --freeze-embeddings --full-encoder assets/me5-small"
python benchmarks/accuracy.py $COMMON --runs $R/fp32 --out $R/results-fp32 > $R/fp32.log 2>&1 &
python benchmarks/accuracy.py $COMMON --autocast bfloat16 --runs $R/bf16 --out $R/results-bf16 > $R/bf16.log 2>&1 &
wait
