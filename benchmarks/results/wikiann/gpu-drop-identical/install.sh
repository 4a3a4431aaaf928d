#!/bin/bash
# Call 1 on the lent GPU machine: install the carried wheels where call 2 finds them (the machine stays warm 30 s).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site
pwd; nproc; nvidia-smi --query-gpu=name,driver_version,memory.total,utilization.gpu --format=csv
python3 -c "import spacy, thinc, transformers, torch, cupy, spacy_transformers, seqeval; import spacy_concner; from spacy.util import registry; print('spacy', spacy.__version__, 'thinc', thinc.__version__, 'transformers', transformers.__version__, 'torch', torch.__version__, 'cupy', cupy.__version__, 'gpu', torch.cuda.is_available(), registry.architectures.get('spacy_concner.TransformerModel.v1'))" 2>&1 | tail -3
