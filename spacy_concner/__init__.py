"""spacy-concner: ConCNER dual-contrastive cross-lingual NER as a spaCy component."""
from .threads import register_fork_handler

__version__ = "0.1.0"

register_fork_handler()
