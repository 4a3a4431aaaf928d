"""Input data: CoNLL/IOB and raw-text reading, per-Doc metadata, the ``prepare`` step."""
