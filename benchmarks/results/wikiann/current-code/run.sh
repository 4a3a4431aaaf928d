#!/bin/bash
# Main WikiAnn table re-run at the current code (session 8): 3 seeds x 4 systems, the same flags as main.sh
# (fca435f, thinc's Adam), now at 5bc116d (/work/bench-s8; configs ship spacy_concner.AdamW.v1 and
# release_memory.v1). Own venv (/work/venv-bench, editable at /work/bench-s8) so main's entry points never leak in.
# Usage: main-s8.sh teacher|baselines -- one worker each (teacher: concner, concner+distill; baselines:
# source-only, source+translations), seeds 0 1 2 in order. Resumable: rerun it.
cd /work/bench-s8
export PYTHONPATH=/work/bench-s8 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
R=/work/bench-runs/wikiann
MODE=$1; shift; SEEDS="$*"
case $MODE in
  teacher) SYS="concner concner+distill";;
  baselines) SYS="source-only source+translations";;
  all) SYS="source+translations source-only concner concner+distill";;
  src) SYS="source-only";;
  *) echo "usage: $0 teacher|baselines|all|src [SEEDS...]"; exit 2;;
esac
echo 1000 > /proc/$$/oom_score_adj
/work/venv-bench/bin/python benchmarks/accuracy.py --dataset wikiann --seeds ${SEEDS:-0 1 2} --systems $SYS --epochs 10 --distill-epochs 3 \
  --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small \
  --runs $R/main-s8 --out $R/results-main-s8 --cache $R/cache >> $R/main-s8.$MODE.log 2>&1
