"""Knowledge distillation: a trained teacher labels raw target text with soft tag distributions.

The teacher pipeline tokenises each raw sentence (DocBin and CoNLL input keep their words), its ``concner`` component gives per-token tag
log-probabilities, and they are stored compactly on the Doc (float16, see
:func:`spacy_concner.docdata.set_soft_tags`) with the language and a pair id. The student is
then trained on these Docs through ``spacy_concner.DistillCorpus.v1`` and ``configs/distill.cfg``.
"""
import logging
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from .component import ConCNER
from .docdata import set_pair, set_soft_tags
from .errors import InputError
from .fileio import atomic_output, read_docbin, read_lines

logger = logging.getLogger(__name__)


def read_raw_docs(path: Union[str, Path], nlp: Language) -> Iterator[Doc]:
    """Unannotated Docs to label, from a DocBin (.spacy), CoNLL (tags ignored) or text (one sentence per line).

    The format is sniffed like everywhere else (:func:`spacy_concner.prepare.sniff_format`).
    DocBin and CoNLL input keep their words: the student then trains on the tokens it will be
    evaluated on. Only plain text is tokenised, by the teacher's tokenizer.
    """
    from .conll import read_conll
    from .prepare import sniff_format

    fmt = sniff_format(path)
    if fmt == "empty":
        raise InputError(f"{path} is empty (no sentences in it); pass unlabelled text, one sentence per line.")
    if fmt in ("docbin", "conll"):
        docs = read_docbin(path, nlp.vocab) if fmt == "docbin" else read_conll(path, "xx", nlp.vocab)
        for doc in docs:
            yield Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
        return
    for _, line in read_lines(path):
        if line.strip():
            yield nlp.make_doc(line.strip())


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

    Texts are tokenised by the teacher; Docs keep their own tokens.
    """
    comp = find_concner(teacher)
    upstream = [name for name, _ in teacher.pipeline if teacher.get_pipe(name) is not comp]
    prefix = id_prefix or f"{lang}-raw"
    index = 0
    batch: List[Union[str, Doc]] = []

    def flush(batch: List[Union[str, Doc]]) -> Iterator[Doc]:
        nonlocal index
        docs = [teacher.make_doc(t) if isinstance(t, str) else t for t in batch]
        for name in upstream:
            docs = list(teacher.get_pipe(name).pipe(docs, batch_size=batch_size))
        non_empty = [d for d in docs if len(d)]
        for doc, log_probs in zip(non_empty, comp.tag_log_probs(non_empty) if non_empty else []):
            out = Doc(teacher.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
            set_pair(out, f"{prefix}-{index:06d}", lang)
            set_soft_tags(out, log_probs, comp.tags)
            index += 1
            yield out

    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


def annotate_file(
    teacher: Language, input_path: Union[str, Path], output_path: Union[str, Path], lang: str,
    batch_size: int = 32, limit: int = 0,
) -> int:
    """Annotate a raw-text file with the teacher and write a DocBin (all-or-nothing); returns the number of docs."""
    find_concner(teacher)  # before reading anything
    texts = list(read_raw_docs(input_path, teacher))
    if limit:
        texts = texts[:limit]
    db = DocBin(store_user_data=True)
    for doc in tqdm(annotate_soft_targets(teacher, texts, lang, batch_size), total=len(texts),
                    desc=f"annotate {lang}", unit="sent", leave=False):
        db.add(doc)
    if len(db) < len(texts):
        logger.warning("%s: %d empty sentences skipped", input_path, len(texts) - len(db))
    if not len(db):
        raise InputError(f"{input_path}: no sentence with a token in it; pass unlabelled text, one sentence per line.")
    with atomic_output(output_path) as tmp:
        db.to_disk(tmp)
    return len(db)


def find_transformer(nlp: Language, purpose: str) -> Tuple[str, TrainablePipe]:
    """The pipeline's spacy-transformers component (name, pipe); ``purpose`` says who needs it."""
    from spacy_transformers import Transformer

    names = [name for name, proc in nlp.pipeline if isinstance(proc, Transformer)]
    if not names:
        raise InputError(
            f"The pipeline {nlp.pipe_names} has no spacy-transformers 'transformer' component; "
            f"{purpose} needs a transformer pipeline such as training/concner/model-best."
        )
    return names[0], nlp.get_pipe(names[0])


def export_encoder(nlp: Language, output_dir: Union[str, Path]) -> Path:
    """Save a trained pipeline's transformer (weights + tokenizer) as a Hugging Face folder.

    The folder works wherever a model name does (``--paths.transformer``), e.g. to start a
    distillation student from the teacher's fine-tuned encoder with a fresh tagging head instead
    of from the pretrained one: the student then keeps what the teacher learned about the task
    and spends its steps adapting to the target text.
    """
    model = find_transformer(nlp, "export-encoder")[1].model
    if model.transformer is None:
        raise InputError("The pipeline's transformer is not loaded (initialize or load the pipeline first).")
    output_dir = Path(output_dir)
    with atomic_output(output_dir) as tmp:  # the folder appears only once it is complete
        tmp.mkdir()
        model.transformer.save_pretrained(str(tmp))
        tokenizer = model.tokenizer
        tokenizer.save_pretrained(str(tmp))
        # spacy-transformers reads the tokenizer's vocabulary file (e.g. sentencepiece.bpe.model) when it
        # loads a folder; a pipeline loaded from disk keeps that file's bytes, not the file, so a fast
        # tokenizer cannot save it by itself: write it from the stored bytes.
        vocab_name = getattr(tokenizer, "vocab_files_names", {}).get("vocab_file")
        contents = getattr(model.layers[0].shims[0]._hfmodel, "vocab_file_contents", None)
        if vocab_name and contents and not (tmp / vocab_name).exists():
            (tmp / vocab_name).write_bytes(contents)
    return output_dir
