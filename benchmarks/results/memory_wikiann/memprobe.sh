#!/bin/bash
# RSS of a WikiAnn teacher (drop arm, seed 2: one 439-word source sentence, a 2823-word pair) over 160 steps:
# sort_by_length true (default) vs false (TransformerModel.v3's one padded call), run side by side.
# The third case (sorted_mmap_threshold) was the same script with `for v in mmap` and MALLOC_MMAP_THRESHOLD_=1048576
# in front of the command. Run 2026-11-27 from the worktree of commit 2b6abd4 (/work/bench-drop).
cd /work/bench-drop
export PYTHONPATH=/work/bench-drop OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
CMD=$(head -1 /work/bench-runs/wikiann/drop-frozen/seed2/concner/train.log)
for v in on off; do
  c=$(echo "$CMD" | sed "s#--output [^ ]*#--output /tmp/memprobe-$v#; s#--training.max_steps [0-9]*#--training.max_steps 160#; s#--training.eval_frequency [0-9]*#--training.eval_frequency 1000#; s#--training.logger.output_file [^ ]*#--training.logger.output_file /tmp/memprobe-$v.jsonl#")
  [ $v = off ] && c=$(echo "$c" | sed "s#/work/bench-drop/configs/concner.cfg#/tmp/concner_nosort.cfg#")
  eval "$c" > /tmp/memprobe-$v.log 2>&1 &
  echo "$v $!" >> /tmp/memprobe.pids
done
wait
