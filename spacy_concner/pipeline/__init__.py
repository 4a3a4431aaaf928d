"""The spaCy component: the ``concner`` TrainablePipe and its constrained decoding."""
