#!/bin/bash
# release_memory.v1 probe (2026-11-27): the WikiAnn ConCNER teacher (seed 0 data: 1000 English sentences + 5
# translations, one oversized 650-word pair; frozen embeddings, bucketing, one torch thread), 150 steps with an
# English dev evaluation at 75 and 150, once per `every` (0 = off), side by side. RSS sampled every 2 s;
# /usr/bin/time -v gives peak RSS, user and system CPU time. Usage: trim_probe.sh OUT EVERY...
OUT=$1; shift
C=/work/bench-runs/wikiann/cache
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
mkdir -p $OUT
for every in "$@"; do
  ( /usr/bin/time -v -o $OUT/time.every$every.txt /work/main/.venv/bin/python -m spacy train configs/concner.cfg \
      --output $OUT/every$every --paths.train $C/wikiann-seed0-8fc8bbd295/data/en/train.spacy \
      --paths.dev $C/wikiann-shared-db0333269d/en/dev.spacy --paths.transformer $C/wikiann-seed0-8fc8bbd295/encoder \
      --paths.translations "[\"$C/wikiann-seed0-8fc8bbd295/translations\"]" --system.seed 0 \
      --training.max_steps 150 --training.eval_frequency 75 --training.optimizer.learn_rate.initial_rate 0.0005 \
      --training.optimizer.learn_rate.warmup_steps 15 --training.batcher.size 500 --training.batcher.bucket 500 \
      --initialize.after_init.freeze_embeddings true --training.before_update.every $every \
      > $OUT/train.every$every.log 2>&1 ) &
  pid=$!
  ( while kill -0 $pid 2>/dev/null; do
      for p in $(pgrep -P $pid) $(pgrep -f "output $OUT/every$every "); do
        echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null)"; done
      sleep 2; done > $OUT/rss.every$every.txt ) &
done
wait
