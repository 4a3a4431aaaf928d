"""Knowledge distillation: a trained teacher labels raw target text with soft tag distributions.

Raw sentences are read by :func:`spacy_concner.data.text.read_raw_docs` (DocBin and CoNLL input keep
their words, text is tokenised by the teacher); the teacher's ``concner`` component gives per-token tag
log-probabilities, and they are stored compactly on the Doc (float16, see
:func:`spacy_concner.data.docdata.set_soft_tags`) with the language and a pair id. The student is
then trained on these Docs through ``spacy_concner.DistillCorpus.v1`` and ``configs/distill.cfg``.
"""
import logging
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch
from tqdm import tqdm

from ..data.docdata import set_pair, set_soft_tags
from ..data.text import read_raw_docs
from ..errors import InputError
from ..fileio import write_docbin
from ..pipeline.concner import ConCNER

logger = logging.getLogger(__name__)


def find_concner(nlp: Language) -> ConCNER:
    pipes = [proc for _, proc in nlp.pipeline if isinstance(proc, ConCNER)]
    if not pipes:
        raise InputError(
            f"The teacher pipeline {nlp.pipe_names} has no concner component; pass a pipeline trained "
            "with configs/concner.cfg (e.g. training/concner/model-best)."
        )
    return pipes[0]


def annotate_soft_targets(
    teacher: Language, texts: Iterable[Union[str, Doc]], lang: str, batch_size: int = 32, id_prefix: Optional[str] = None
) -> Iterator[Doc]:
    """Yield Docs carrying the teacher's tag log-probabilities (no entities set).

    Texts are tokenised by the teacher; Docs keep their own tokens. Empty Docs are skipped (they
    take no pair id). The teacher's other components run through ``nlp.pipe`` with the ``concner``
    component disabled (the teacher itself is not changed), and each batch of their output is
    scored at once, so a batch is the same ``batch_size`` texts for the transformer and the head.
    """
    comp = find_concner(teacher)
    comp_name = next(name for name, proc in teacher.pipeline if proc is comp)
    prefix = id_prefix or f"{lang}-raw"
    index = 0
    for batch in minibatch(teacher.pipe(texts, batch_size=batch_size, disable=[comp_name]), size=batch_size):
        non_empty = [doc for doc in batch if len(doc)]
        if not non_empty:
            continue
        for doc, log_probs in zip(non_empty, comp.tag_log_probs(non_empty)):
            out = Doc(teacher.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
            set_pair(out, f"{prefix}-{index:06d}", lang)
            set_soft_tags(out, log_probs, comp.tags)
            index += 1
            yield out


def annotate_file(
    teacher: Language, input_path: Union[str, Path], output_path: Union[str, Path], lang: str,
    batch_size: int = 32, limit: int = 0,
) -> int:
    """Annotate a raw-text file with the teacher and write a DocBin (all-or-nothing); returns the number of docs."""
    find_concner(teacher)  # before reading anything
    texts = read_raw_docs(input_path, teacher.vocab, tokenize=teacher.make_doc)  # text: the teacher's tokens
    if limit:
        texts = texts[:limit]
    n_docs = sum(1 for doc in texts if len(doc))  # the Docs annotate_soft_targets yields
    if not n_docs:
        raise InputError(f"{input_path}: no sentence with a token in it; pass unlabelled text, one sentence per line.")
    if n_docs < len(texts):
        logger.warning("%s: %d empty sentences skipped", input_path, len(texts) - n_docs)
    docs = annotate_soft_targets(teacher, texts, lang, batch_size)
    write_docbin(tqdm(docs, total=n_docs, desc=f"annotate {lang}", unit="sent", leave=False), output_path)
    return n_docs
