"""Config callbacks (``@callbacks``) that trade a little accuracy headroom for speed and memory.

``spacy_concner.freeze_embeddings.v1`` in ``[initialize.after_init]`` stops training the
transformer's input word-embedding matrix. In multilingual encoders that matrix is most of the
model (multilingual-e5-small: 250k x 384 = 96M of 118M parameters), and without freezing every
step computes a dense gradient for it, clips it and runs Adam over it although a batch touches
only a few hundred rows. Frozen, those costs vanish; positions, layers and heads still train.
"""
from typing import Callable, List

from spacy.language import Language
from spacy.util import registry


def hf_models(nlp: Language, component: str) -> List:
    """The torch modules wrapped by ``component``'s thinc model (normally one HF model)."""
    if component not in nlp.pipe_names:
        raise ValueError(f"freeze_embeddings: no component {component!r} in the pipeline {nlp.pipe_names}")
    model = nlp.get_pipe(component).model
    modules = [shim._model for node in model.walk() for shim in node.shims]
    found = [m for m in modules if hasattr(m, "get_input_embeddings")]
    if not found:
        raise ValueError(
            f"freeze_embeddings: component {component!r} wraps no Hugging Face model; "
            "use it on a spacy-transformers 'transformer' component after initialization "
            "([initialize.after_init])."
        )
    return found


def freeze_input_embeddings(nlp: Language, component: str = "transformer") -> int:
    """Set ``requires_grad=False`` on the word-embedding matrix; returns the frozen parameter count."""
    frozen = 0
    for module in hf_models(nlp, component):
        weight = module.get_input_embeddings().weight
        weight.requires_grad_(False)
        weight.grad = None
        frozen += weight.numel()
    return frozen


@registry.callbacks("spacy_concner.freeze_embeddings.v1")
def make_freeze_embeddings(component: str = "transformer") -> Callable[[Language], Language]:
    """``[initialize.after_init]`` callback: freeze ``component``'s input word embeddings."""

    def after_init(nlp: Language) -> Language:
        freeze_input_embeddings(nlp, component)
        return nlp

    return after_init
