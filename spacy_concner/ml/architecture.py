"""The ConCNER model: tok2vec -> (tag classifier, token projection, sentence projection).

``spacy_concner.ConCNER.v1`` returns a thinc Model mapping ``List[Doc]`` to a
:class:`ConCNEROutput`. The classifier gives per-token BIO tag logits; the two projection heads
(small MLPs, as in SimCLR/SupCon) feed the contrastive losses only, so prediction skips them.
"""
from typing import Callable, List, NamedTuple, Optional, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Dropout, Linear, Model, Relu, chain, reduce_mean
from thinc.types import Floats2d, Ints1d, Ragged


class ConCNEROutput(NamedTuple):
    """Model output for a batch of docs (rows concatenated over docs, in doc order).

    logits: (n_tokens, n_tags). token_proj: (n_tokens, proj) or None outside training.
    sent_proj: (n_docs, proj) or None outside training. lengths: tokens per doc.
    """

    logits: Floats2d
    token_proj: Optional[Floats2d]
    sent_proj: Optional[Floats2d]
    lengths: Ints1d


@registry.architectures("spacy_concner.ConCNER.v1")
def build_concner_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    proj_hidden: int = 256,
    proj_width: int = 128,
    sentence_pooling: str = "mean",
    dropout: float = 0.1,
    nO: Optional[int] = None,
) -> Model[List[Doc], ConCNEROutput]:
    """Build the ConCNER network.

    tok2vec: per-token vectors, normally ``spacy-transformers.TransformerListener.v1`` (its
        ``pooling`` decides first-subword vs mean-subword per spaCy token).
    proj_hidden / proj_width: hidden and output width of both projection MLPs.
    sentence_pooling: "mean" (the only pooling: the sentence vector is the mean of its token
        vectors); kept as a setting so that existing configs and pipelines load.
    dropout: applied to token vectors before every head.
    nO: number of BIO tags; normally left unset and inferred from the labels in initialize.
    """
    if sentence_pooling != "mean":
        raise ValueError(f"sentence_pooling must be \"mean\" (max and first were removed), got {sentence_pooling!r}")
    classifier = Linear(nO=nO)
    token_proj = chain(Relu(nO=proj_hidden), Linear(nO=proj_width))
    sent_proj = chain(Relu(nO=proj_hidden), Linear(nO=proj_width))
    heads: Model = Model(
        "concner_heads",
        _heads_forward,
        init=_heads_init,
        layers=[Dropout(dropout), classifier, token_proj, reduce_mean(), sent_proj],
        refs={"output_layer": classifier},
    )
    model = chain(tok2vec, heads)
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", classifier)
    model.set_ref("heads", heads)
    return model


def _heads_init(model: Model, X: Optional[List[Floats2d]] = None, Y=None) -> None:
    dropout, classifier, token_proj, pool, sent_proj = model.layers
    if X is not None and len(X):
        width = X[0].shape[1]
        Xc = model.ops.flatten(X)
        classifier.initialize(X=Xc)
        token_proj.initialize(X=Xc)
        sent_proj.initialize(X=model.ops.alloc2f(len(X), width))
    else:
        for layer in (classifier, token_proj, sent_proj):
            layer.initialize()


def _heads_forward(
    model: Model, X: List[Floats2d], is_train: bool
) -> Tuple[ConCNEROutput, Callable]:
    dropout, classifier, token_proj, pool, sent_proj = model.layers
    lengths = model.ops.asarray1i([len(x) for x in X])
    Xc = model.ops.flatten(X) if len(X) else model.ops.alloc2f(0, classifier.get_dim("nI"))
    Xd, bp_drop = dropout(Xc, is_train)
    logits, bp_logits = classifier(Xd, is_train)
    if not is_train:
        return ConCNEROutput(logits, None, None, lengths), lambda d: []
    tok, bp_tok = token_proj(Xd, is_train)
    pooled, bp_pool = pool(Ragged(Xd, lengths), is_train)
    sent, bp_sent = sent_proj(pooled, is_train)

    def backprop(d_out: ConCNEROutput) -> List[Floats2d]:
        dX = bp_logits(d_out.logits)
        if d_out.token_proj is not None:
            dX = dX + bp_tok(d_out.token_proj)
        if d_out.sent_proj is not None:
            dX = dX + bp_pool(bp_sent(d_out.sent_proj)).data
        return model.ops.unflatten(bp_drop(dX), lengths)

    return ConCNEROutput(logits, tok, sent, lengths), backprop
