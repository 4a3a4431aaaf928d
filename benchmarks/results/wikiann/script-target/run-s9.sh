#!/bin/bash
# The script=target arm, continued (session 9, new machine): seed 0 (code 02f4bf8) restored from
# benchmarks/results/wikiann/script-target/accuracy.json by benchmarks/restore_runs.py; seeds 1-2 here at dee2747
# (training code identical to 02f4bf8 and 5bc116d). The decision needs the teacher and the student only, so those
# run first; source+translations after them if time allows. Usage: script-target-s9.sh NAME SEEDS...
cd /work/bench-s9
export PYTHONPATH=/work/bench-s9 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
NAME=$1; shift
echo 1000 > /proc/$$/oom_score_adj
/work/main/.venv/bin/python benchmarks/accuracy.py --dataset wikiann --seeds ${@:-1 2} \
  --systems concner concner+distill source+translations --target-script bg --epochs 10 --distill-epochs 3 \
  --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/script-target --out $R/results-script-target --cache $R/cache >> $R/script-target-s9.$NAME.log 2>&1
