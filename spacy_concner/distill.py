"""Knowledge distillation: a trained teacher labels raw target text with soft tag distributions.

The teacher pipeline tokenises each sentence, its ``concner`` component gives per-token tag
log-probabilities, and they are stored compactly on the Doc (float16, see
:func:`spacy_concner.docdata.set_soft_tags`) with the language and a pair id. The student is
then trained on these Docs through ``spacy_concner.DistillCorpus.v1`` and ``configs/distill.cfg``.
"""
import logging
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm

from .component import ConCNER
from .docdata import set_pair, set_soft_tags

logger = logging.getLogger(__name__)


def read_raw_texts(path: Union[str, Path], nlp: Language) -> Iterator[str]:
    """Sentences from a DocBin (.spacy), a CoNLL file (tags ignored) or a text file (one per line)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Raw text file not found: {path}")
    if path.suffix == ".spacy":
        for doc in DocBin().from_disk(path).get_docs(nlp.vocab):
            yield doc.text
        return
    with path.open(encoding="utf-8") as fh:
        first = fh.readline()
    if "\t" in first or first.startswith("-DOCSTART-"):
        from .conll import read_conll

        for doc in read_conll(path, "xx", nlp.vocab):
            yield doc.text
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line.strip()


def find_concner(nlp: Language) -> ConCNER:
    pipes = [proc for _, proc in nlp.pipeline if isinstance(proc, ConCNER)]
    if not pipes:
        raise ValueError(f"The teacher pipeline {nlp.pipe_names} has no concner component.")
    return pipes[0]


def annotate_soft_targets(
    teacher: Language, texts: Iterable[str], lang: str, batch_size: int = 32, id_prefix: Optional[str] = None
) -> Iterator[Doc]:
    """Yield teacher-tokenised Docs carrying the teacher's tag log-probabilities (no entities set)."""
    comp = find_concner(teacher)
    upstream = [name for name, _ in teacher.pipeline if teacher.get_pipe(name) is not comp]
    prefix = id_prefix or f"{lang}-raw"
    index = 0
    batch: List[str] = []

    def flush(batch: List[str]) -> Iterator[Doc]:
        nonlocal index
        docs = [teacher.make_doc(t) for t in batch]
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
    """Annotate a raw-text file with the teacher and write a DocBin; returns the number of docs."""
    texts = list(read_raw_texts(input_path, teacher))
    if limit:
        texts = texts[:limit]
    db = DocBin(store_user_data=True)
    for doc in tqdm(annotate_soft_targets(teacher, texts, lang, batch_size), total=len(texts),
                    desc=f"annotate {lang}", unit="sent", leave=False):
        db.add(doc)
    if len(db) < len(texts):
        logger.warning("%s: %d empty sentences skipped", input_path, len(texts) - len(db))
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(output_path)
    return len(db)


def export_encoder(nlp: Language, output_dir: Union[str, Path]) -> Path:
    """Save a trained pipeline's transformer (weights + tokenizer) as a Hugging Face folder.

    The folder works wherever a model name does (``--paths.transformer``), e.g. to start a
    distillation student from the teacher's fine-tuned encoder with a fresh tagging head instead
    of from the pretrained one: the student then keeps what the teacher learned about the task
    and spends its steps adapting to the target text.
    """
    from spacy_transformers import Transformer

    trfs = [proc for _, proc in nlp.pipeline if isinstance(proc, Transformer)]
    if not trfs:
        raise ValueError(f"The pipeline {nlp.pipe_names} has no spacy-transformers 'transformer' component.")
    model = trfs[0].model
    if model.transformer is None:
        raise ValueError("The pipeline's transformer is not loaded (initialize or load the pipeline first).")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.transformer.save_pretrained(str(output_dir))
    tokenizer = model.tokenizer
    tokenizer.save_pretrained(str(output_dir))
    # spacy-transformers reads the tokenizer's vocabulary file (e.g. sentencepiece.bpe.model) when it
    # loads a folder; a pipeline loaded from disk keeps that file's bytes, not the file, so a fast
    # tokenizer cannot save it by itself: write it from the stored bytes.
    vocab_name = getattr(tokenizer, "vocab_files_names", {}).get("vocab_file")
    contents = getattr(model.layers[0].shims[0]._hfmodel, "vocab_file_contents", None)
    if vocab_name and contents and not (output_dir / vocab_name).exists():
        (output_dir / vocab_name).write_bytes(contents)
    return output_dir
