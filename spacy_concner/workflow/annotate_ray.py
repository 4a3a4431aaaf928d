"""Distillation's teacher labelling (:func:`.distill.annotate_file`) on Ray workers.

The driver reads and tokenises the input exactly as :func:`.distill.annotate_file` does (so bad
input fails the same way, before any worker starts), cuts it into the ``batch_size`` chunks that
:func:`.distill.annotate_soft_targets` batches by, and each worker runs that same function on its
chunk. Pair ids number the non-empty sentences across the whole file, as in one process, so the
DocBin written is the one-process DocBin. ``LANG.report.json`` beside it counts documents in,
out and dropped.
"""
import logging
import time
from pathlib import Path
from typing import Dict, List, Sequence, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..data.docdata import set_pair
from ..data.text import RawStats, read_raw_docs
from ..errors import InputError
from ..fileio import atomic_output
from .distill import annotate_soft_targets, find_concner
from .ray_runner import RayOptions, require_ray, run_chunks
from .tagging import PipelineTask, TagReport, chunked, report_path, worker_spec

logger = logging.getLogger(__name__)


def default_id_prefix(lang: str) -> str:
    return f"{lang}-raw"  # what annotate_soft_targets uses when given no id_prefix


class AnnotateTask(PipelineTask):
    """Soft-labels one chunk in a worker: ``{"start": n, "docs": DocBin bytes}`` -> DocBin bytes.

    ``start`` is the number of non-empty sentences before the chunk, so pair ids continue the
    one-process numbering instead of restarting in every chunk.
    """

    def __init__(self, teacher: str, lang: str, batch_size: int, gpu: bool = False) -> None:
        super().__init__(teacher, batch_size, gpu)
        self.lang = lang

    def __call__(self, payload: bytes) -> bytes:
        msg = srsly.msgpack_loads(payload)
        docs = list(DocBin().from_bytes(msg["docs"]).get_docs(self.nlp.vocab))
        prefix = default_id_prefix(self.lang)
        out = list(annotate_soft_targets(self.nlp, docs, self.lang, self.batch_size, id_prefix=prefix))
        for i, doc in enumerate(out):
            set_pair(doc, f"{prefix}-{msg['start'] + i:06d}", self.lang)
        return DocBin(docs=out, store_user_data=True).to_bytes()


def chunk_payloads(docs: Sequence[Doc], batch_size: int) -> List[bytes]:
    payloads, start = [], 0
    for chunk in chunked(docs, batch_size):
        payloads.append(srsly.msgpack_dumps({"start": start, "docs": DocBin(docs=chunk).to_bytes()}))
        start += sum(1 for d in chunk if len(d))
    return payloads


def annotate_file_on_ray(
    teacher: Language, teacher_spec: str, input_path: Union[str, Path], output_path: Union[str, Path], lang: str,
    options: RayOptions, batch_size: int = 32, limit: int = 0,
) -> TagReport:
    """:func:`.distill.annotate_file` with the teacher on Ray workers; returns the (written) report.

    ``teacher`` (loaded here for its tokenizer and the checks) and ``teacher_spec`` (what the
    workers load: a path they can read, or an installed package name) must be the same pipeline.
    """
    start = time.perf_counter()
    require_ray()
    find_concner(teacher)
    stats = RawStats()
    texts = read_raw_docs(input_path, teacher.vocab, tokenize=teacher.make_doc, stats=stats)
    dropped: Dict[str, int] = {}
    if stats.skipped_lines:
        dropped["empty_line"] = stats.skipped_lines
    if limit:
        dropped["over_limit"] = max(0, len(texts) - limit)
        texts = texts[:limit]
    n_in = len(texts) + sum(dropped.values())
    payloads = chunk_payloads(texts, batch_size)
    db = DocBin(store_user_data=True)
    for result in run_chunks(AnnotateTask(worker_spec(teacher_spec), lang, batch_size, gpu=options.num_gpus > 0), payloads, options):
        for doc in DocBin().from_bytes(result).get_docs(teacher.vocab):
            db.add(doc)
    if len(db) < len(texts):
        dropped["no_tokens"] = len(texts) - len(db)
        logger.warning("%s: %d empty sentences skipped", input_path, len(texts) - len(db))
    if not len(db):
        raise InputError(f"{input_path}: no sentence with a token in it; pass unlabelled text, one sentence per line.")
    with atomic_output(output_path) as tmp:
        db.to_disk(tmp)
    report = TagReport(
        input=str(input_path), output=str(output_path), engine="ray", workers=options.workers, batch_size=batch_size,
        documents_in=n_in, documents_out=len(db),
        dropped=dropped, seconds=round(time.perf_counter() - start, 3), address=options.address,
    )
    report.write(report_path(output_path))
    return report


def annotate_file_anywhere(nlp: Language, teacher: str, path: Union[str, Path], output: Path, lang: str,
                           options: "RayOptions | None", batch_size: int = 32, limit: int = 0) -> int:
    """One language of ``annotate``: in this process (``options`` None), or on Ray workers with a report beside
    the output; the soft targets are the same either way."""
    if options is None:
        from .distill import annotate_file

        return annotate_file(nlp, path, output, lang, batch_size=batch_size, limit=limit)
    return annotate_file_on_ray(nlp, teacher, path, output, lang, options, batch_size=batch_size,
                                limit=limit).documents_out
