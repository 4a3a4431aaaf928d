"""spacy-concner: ConCNER dual-contrastive cross-lingual NER as a spaCy component."""

__version__ = "0.1.0"
