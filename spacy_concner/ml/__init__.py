"""The model: the ``spacy_concner.ConCNER.v1`` architecture and the ConCNER losses (torch)."""
