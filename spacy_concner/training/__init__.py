"""What ``spacy train`` plugs in: readers, batcher, optimizer, callbacks, logger."""
