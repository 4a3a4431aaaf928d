#!/bin/bash
# Call 2 on the lent GPU machine: WikiAnn, 3 seeds, arms C (today's defaults) and D (--drop-identical),
# on the GPU, as parallel chains (per seed: teacher -> student; the baselines). Time-boxed: at
# DEADLINE seconds the workers are stopped; finished runs' small files are tarred to $OUT every 20 s.
set -u
BUDGET=${1:-480}; T0=$(date +%s); DEADLINE=$((T0 + BUDGET))
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}; GPU=${GPU:-0}; OUT=${OUT:-/tmp/gout}; mkdir -p $OUT
if [ "${LOCAL:-0}" != 1 ]; then
  [ -d /tmp/site ] || { echo "no /tmp/site: the machine went cold, nothing installed"; exit 3; }
  mkdir -p /work/shared/data/wikiann/en && cp .gpu/en-train.txt /work/shared/data/wikiann/en/train.txt
  cd /work/main   # the device copy of the repository sits at /work/main: the same paths as where the caches were made
fi
CACHE=${CACHE:-/tmp/gcache}; RUNS=${RUNS:-/tmp/gruns}; mkdir -p $CACHE $RUNS
tar -xJf .gpu/caches.tar.xz -C $CACHE && $PY .gpu/q4pack.py unpack .gpu/bundle $CACHE || exit 4
for p in 0:8fc8bbd295:8f4ad7c9d9 1:807708418d:2236bce34b 2:789048f6e6:4ee1b8483d; do
  IFS=: read s k d <<< "$p"; cp -a $CACHE/wikiann-seed$s-$k/encoder $CACHE/wikiann-seed$s-$d/encoder; done
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $OUT/gpu.txt
COMMON="--dataset wikiann --epochs 10 --distill-epochs 3 --evals 10 --freeze-embeddings --full-encoder /work/main/assets/me5-small --cache $CACHE --gpu-id $GPU"
launch() {  # arm seed "systems" extra...
  local arm=$1 s=$2 sys=$3; shift 3
  $PY benchmarks/accuracy.py $COMMON --seeds $s --systems $sys --runs $RUNS/$arm --out $RUNS/$arm-report "$@" \
    > $RUNS/log.$arm.seed$s.${sys%% *} 2>&1 &
  sleep 2
}
for s in 0 1 2; do
  launch C $s "concner concner+distill"
  launch D $s "concner concner+distill" --drop-identical
done
for s in 0 1 2; do
  launch C $s "source+translations source-only"
  launch D $s "source+translations" --drop-identical
done
pack() { tar -czf $OUT/runs.tgz.part -C $RUNS --exclude='model-*' --exclude=teacher_encoder --exclude='*.spacy' . 2>/dev/null && mv $OUT/runs.tgz.part $OUT/runs.tgz; }
n=0
while [ $(date +%s) -lt $DEADLINE ] && [ -n "$(jobs -rp)" ]; do
  sleep 20; pack; n=$((n + 1))
  [ $((n % 3)) = 0 ] && echo "$(( $(date +%s) - T0 )) s: $(ls $RUNS/*/seed*/*/result.json 2>/dev/null | wc -l) runs finished; $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)"
done
[ -n "$(jobs -rp)" ] && { echo "deadline: stopping workers"; pkill -f "benchmarks/accuracy.py"; pkill -f "spacy train"; sleep 3; }
pack
$PY - "$RUNS" <<'PYEOF'
import json, sys, glob
for p in sorted(glob.glob(sys.argv[1] + "/*/seed*/*/result.json")):
    r = json.load(open(p)); f = r["f1"]
    print(p.split("/")[-4], r["seed"], f'{r["system"]:22s}', " ".join(f"{l} {100*v:.1f}" for l, v in f.items()),
          f'| dev {r["dev_en"]["dev_f1"]} @ {r["dev_en"]["selected_step"]}/{r["plan"]["steps"]} train {r["train_seconds"]} s')
PYEOF
echo "total $(( $(date +%s) - T0 )) s"
