#!/bin/bash
# GPU smoke on the lent device machine: install the carried wheels, then the GPU test and benchmarks/gpu_smoke.py.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import spacy, thinc, transformers, torch, cupy; print('spacy', spacy.__version__, 'thinc', thinc.__version__, 'transformers', transformers.__version__, 'torch', torch.__version__, 'cupy', cupy.__version__); from thinc.util import has_cupy_gpu, has_torch_cuda_gpu; print('cupy gpu', has_cupy_gpu, 'torch gpu', has_torch_cuda_gpu)" 2>&1 | tee $OUT/versions.txt
python3 -m pytest -q -p no:cacheprovider -rs tests/test_optimizer.py 2>&1 | tee $OUT/pytest_optimizer.log | tail -15
python3 benchmarks/gpu_smoke.py --gpu-id 0 --out /tmp/smoke 2>&1 | tee $OUT/gpu_smoke.log | tail -120
cp /tmp/smoke/gpu_smoke.json $OUT/ 2>/dev/null
