"""The ``concner`` pipeline component: BIO token classification trained with ConCNER losses.

It predicts IOB2 tags with constrained Viterbi decoding (so output spans are always valid),
writes ``doc.ents``, and trains with a :class:`~spacy_concner.ml.dual_contrastive_loss.DualContrastiveLoss`.
Translation pairs come from ``doc.user_data["concner.pair_id"]``; teacher soft targets for
distillation from ``doc.user_data["concner.soft_tags"]`` (see :mod:`spacy_concner.data.docdata`).
"""
import logging
from collections import Counter
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate

from ..compat import in_spacy_transformers_tokenize
from ..ml.architecture import ConCNEROutput
from ..ml.dual_contrastive_loss import DualContrastiveLoss, Targets
from .decoding import (
    allowed_starts, allowed_transitions, ents_from_tags, outside_on_space_tokens, tags_for_labels, viterbi_decode_batch,
)
from .targets import doc_pair_ids, entity_types, gold_tag_ids, soft_targets, translated_tokens

logger = logging.getLogger(__name__)
_TOO_LONG = "Token indices sequence length is longer than the specified maximum sequence length"


class _SpanTruncationFilter(logging.Filter):
    """Drop transformers' "too long ... will result in indexing errors" warning inside spacy-transformers.

    There it is misleading: spacy-transformers cuts a document into strided spans and truncates a
    span that still has more word pieces than the model's maximum before the model sees it, so
    no indexing error happens. What can happen is that some tokens end up without word pieces;
    :meth:`ConCNER.predict` counts those and says what to do. Anywhere else the warning stays.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.msg).startswith(_TOO_LONG) and in_spacy_transformers_tokenize())


logging.getLogger("transformers.tokenization_utils_base").addFilter(_SpanTruncationFilter())


def tokens_without_features(docs: Iterable[Doc]) -> Tuple[int, int]:
    """(tokens with no transformer word piece, non-space tokens) over ``docs``' ``trf_data``."""
    missing = total = 0
    for doc in docs:
        trf = doc._.trf_data if Doc.has_extension("trf_data") else None
        if trf is None or not hasattr(trf, "align"):
            continue
        lengths = numpy.asarray(trf.align.lengths)
        if len(lengths) != len(doc):
            continue
        real = numpy.array([not t.is_space for t in doc], dtype=bool)
        missing += int(((lengths == 0) & real).sum())
        total += int(real.sum())
    return missing, total

DEFAULT_MODEL = """
[model]
@architectures = "spacy_concner.ConCNER.v1"
proj_hidden = 256
proj_width = 128
dropout = 0.1

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""

# the loss's settings default to DualContrastiveLoss's own (spaCy fills them into the config)
DEFAULT_LOSS = {"@losses": "spacy_concner.DualContrastiveLoss.v1"}


@Language.factory(
    "concner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_config={
        "model": Config().from_str(DEFAULT_MODEL)["model"],
        "loss": DEFAULT_LOSS,
        "scorer": {"@scorers": "spacy.ner_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_concner(
    nlp: Language, name: str, model: Model, loss: DualContrastiveLoss, scorer: Optional[Callable]
) -> "ConCNER":
    return ConCNER(nlp.vocab, model, name, loss=loss, scorer=scorer)


class ConCNER(TrainablePipe):
    """Token-classification NER with label- and translation-contrastive training."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "concner",
        *,
        loss: Optional[DualContrastiveLoss] = None,
        scorer: Optional[Callable] = None,
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.loss = loss if loss is not None else DualContrastiveLoss()
        self.scorer = scorer
        self.cfg: Dict = {"labels": []}
        self._warned_soft = False
        self._warned_features = False
        # gold entities whose label is not in self.labels: left out of every loss, counted and warned
        self.unknown_labels: Counter = Counter()

    # ---- labels -------------------------------------------------------------------------
    @property
    def labels(self) -> List[str]:
        return list(self.cfg["labels"])

    @property
    def label_data(self) -> List[str]:
        """The entity labels: what ``spacy init labels`` writes and ``initialize(labels=...)`` reads back."""
        return self.labels

    @property
    def tags(self) -> List[str]:
        return tags_for_labels(self.labels)

    @property
    def loss_terms(self) -> List[str]:
        """Loss terms with a non-zero weight; the training logger gives each its own column."""
        return [term for term, weight in self.loss.weights.items() if weight]

    def add_label(self, label: str) -> int:
        if label in self.cfg["labels"]:
            return 0
        if self.model.get_ref("output_layer").has_dim("nO"):
            raise ValueError(
                f"Cannot add label {label!r} to the initialized component {self.name!r}: "
                "labels are fixed at initialize (use [initialize.components] or retrain)."
            )
        self.cfg["labels"] = sorted(set(self.cfg["labels"]) | {label})
        return 1

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Learn entity labels from the examples (gold ents and teacher tag sets), or take ``labels``
        (``[initialize.components.NAME.labels]``, e.g. the file ``spacy init labels`` wrote)."""
        validate_get_examples(get_examples, "ConCNER.initialize")
        if labels is None:
            found = set()
            for eg in get_examples():
                found.update(ent.label_ for ent in eg.reference.ents)
                soft = eg.reference.user_data.get("concner.soft_tags")
                if soft is not None:
                    found.update(t[2:] for t in soft["labels"] if t != "O")
            labels = sorted(found)
        else:
            self._warn_unknown_labels(get_examples(), labels)
        if not labels:
            raise ValueError(
                f"No entity labels found for '{self.name}': the training examples have no "
                "entities and no teacher soft targets. Check the training corpus."
            )
        self.cfg["labels"] = sorted(set(labels))
        self.model.get_ref("output_layer").set_dim("nO", len(self.tags))
        doc_sample = [eg.predicted for eg in islice(get_examples(), 10)]
        self.model.initialize(X=doc_sample)

    # ---- prediction -----------------------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> List[numpy.ndarray]:
        """The best valid IOB2 tag ids per doc; whitespace tokens always get O (see decoding)."""
        docs = list(docs)
        if not any(len(doc) for doc in docs):
            return [numpy.zeros((len(doc),), dtype="int32") for doc in docs]
        missing, total = tokens_without_features(docs)
        if missing:
            log = logger.debug if self._warned_features else logger.warning  # once per component
            self._warned_features = True
            log(
                "%s: %d of %d tokens got no transformer features: a span of the document had more word "
                "pieces than the transformer's maximum and was truncated, or the tokenizer dropped their "
                "characters. Their tags rest on the tagger's bias alone. Lower `window` (and `stride`) in "
                "[components.transformer.model.get_spans].", self.name, missing, total)
        tags = self.tags
        allowed, starts = allowed_transitions(tags), allowed_starts(tags)
        log_probs = [outside_on_space_tokens(lp, doc) for lp, doc in zip(self.tag_log_probs(docs), docs)]
        return viterbi_decode_batch(log_probs, allowed, starts)

    def set_annotations(self, docs: Iterable[Doc], tag_ids: List[numpy.ndarray]) -> None:
        tags = self.tags
        for doc, ids in zip(docs, tag_ids):
            doc.ents = ents_from_tags(doc, ids, tags)

    # ---- training -------------------------------------------------------------------------
    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        for term in self.loss_terms:
            losses.setdefault(f"{self.name}:{term}", 0.0)
        examples = list(examples)
        validate_examples(examples, "ConCNER.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        docs = [eg.predicted for eg in examples]
        set_dropout_rate(self.model, drop)
        out, backprop = self.model.begin_update(docs)
        loss, d_out = self.get_loss(examples, out, _terms=losses)
        backprop(d_out)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores: ConCNEROutput, _terms: Optional[Dict] = None):
        """Total loss and gradients of the loss w.r.t. the model output for a batch."""
        examples = list(examples)
        validate_examples(examples, "ConCNER.get_loss")
        targets = self._targets(examples)
        values, grads = self.loss(scores, targets)
        weights = self.loss.weights
        total = sum(weights[k] * v for k, v in values.items())
        if _terms is not None:
            for k, v in values.items():
                _terms[f"{self.name}:{k}"] = _terms.get(f"{self.name}:{k}", 0.0) + v
        return float(total), grads

    def _targets(self, examples: List[Example]) -> Targets:
        tag_index = {t: i for i, t in enumerate(self.tags)}
        tag_ids = [i for eg in examples for i in gold_tag_ids(eg, tag_index, self._count_unknown)]
        soft, soft_mask = soft_targets(examples, tag_index)
        if soft is not None and not self.loss.distill_weight and not self._warned_soft:
            logger.warning("%s: examples carry teacher soft targets but distill_weight is 0; "
                           "they are ignored.", self.name)
            self._warned_soft = True
        return Targets(
            tag_ids=numpy.asarray(tag_ids, dtype="int64"),
            pair_ids=doc_pair_ids(examples),
            soft_log_probs=soft,
            soft_mask=soft_mask,
            entity_types=entity_types(self.tags, self.labels),
            translated=translated_tokens(examples),
        )

    def _count_unknown(self, label: str) -> None:
        if label not in self.unknown_labels:
            logger.warning(
                "%s: gold label %r is not among the component's labels %s: its entities are left out "
                "of every loss (counted in .unknown_labels). Add it to [initialize.components.%s] labels "
                "or map it to O in the data.", self.name, label, self.labels, self.name,
            )
        self.unknown_labels[label] += 1

    def _warn_unknown_labels(self, examples: Iterable[Example], labels: Sequence[str]) -> None:
        """Labels fixed in [initialize]: one warning with counts for the data's other labels."""
        known = set(labels)
        counts = Counter(ent.label_ for eg in examples for ent in eg.reference.ents if ent.label_ not in known)
        if counts:
            logger.warning(
                "%s: the training data has entities whose label is not among the labels set at "
                "initialize %s: %s. They are left out of every loss; add the labels or map them to O.",
                self.name, sorted(known), ", ".join(f"{k} {v}" for k, v in counts.most_common()),
            )
            self.unknown_labels.update({k: 0 for k in counts})  # warned once here, counted in training

    # ---- soft output for distillation -------------------------------------------------------
    def tag_log_probs(self, docs: List[Doc]) -> List[numpy.ndarray]:
        """Per-doc (n_tokens, n_tags) log-probabilities; the teacher side of distillation."""
        out: ConCNEROutput = self.model.predict(docs)
        log_probs = torch.log_softmax(torch.from_numpy(self.model.ops.to_numpy(out.logits)), dim=-1).numpy()
        result, start = [], 0
        for doc in docs:
            result.append(log_probs[start : start + len(doc)])
            start += len(doc)
        return result

