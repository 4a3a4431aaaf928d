"""The translate-train step (:func:`~spacy_concner.translate.translate_train.translate`) on Ray workers.

:func:`translate` itself still reads and checks the source, builds each target's translator (so a
missing engine, dictionary or model fails in the driver, in one line, before any worker starts) and
writes ``LANG.spacy`` and ``LANG.report.json``. Only the translating is sharded: the source is cut
into the batches :func:`~spacy_concner.translate.translate_train.translate_docs` forms (the engine's
batch size or ``batch_size``), a worker runs ``translate_docs`` on one batch with a translator it
builds once, and the driver puts the kept Docs back in source order and adds the reports up. The
output is the one-process output; only the report's ``seconds`` differ.
"""
import contextlib
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import spacy
import srsly
from spacy.tokens import Doc, DocBin
from spacy.util import minibatch
from tqdm import tqdm

from ..translate.engines import Translator, get_translator
from ..translate.translate_train import MAX_DROP_EXAMPLES, Target, TranslationReport, translate, translate_docs
from .ray_runner import RayOptions, connected, require_ray, run_chunks

#: Engine options that name a file or folder: sent to workers as absolute paths (workers have their own cwd).
PATH_OPTIONS = ("dictionary", "path", "model")


def worker_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """``options`` with relative paths that exist here made absolute, so a worker opens the same files."""
    out = dict(options)
    for name in PATH_OPTIONS:
        value = out.get(name)
        if isinstance(value, str) and Path(value).exists():
            out[name] = str(Path(value).resolve())
    return out


class TranslateTask:
    """Translates one batch in a worker: source DocBin bytes -> ``{"docs": kept DocBin bytes, "report": dict}``.

    Picklable; the translator (a dictionary, an MT model) is built once per worker in ``setup``.
    """

    def __init__(self, target: Target, src_lang: str, markers: Optional[str], batch_size: int, identical: str) -> None:
        self.target = Target(target.lang, target.engine, worker_options(target.options))
        self.src_lang = src_lang
        self.markers = markers
        self.batch_size = batch_size
        self.identical = identical
        self.translator: Optional[Translator] = None

    def setup(self) -> None:
        self.translator = get_translator(self.target.engine, self.src_lang, self.target.lang, **self.target.options)

    def __call__(self, payload: bytes) -> bytes:
        docs = list(DocBin().from_bytes(payload).get_docs(spacy.blank("xx").vocab))  # as load_source reads them
        kept, report = translate_docs(docs, self.translator, self.target.lang, self.src_lang, self.markers,
                                      self.batch_size, progress=False, identical=self.identical)
        return srsly.msgpack_dumps({"docs": DocBin(docs=kept, store_user_data=True).to_bytes(), "report": asdict(report)})


def add_report(total: TranslationReport, part: Dict[str, Any]) -> None:
    """Add one batch's report to ``total``, as if ``translate_docs`` had gone on to that batch."""
    for name in ("sentences_in", "kept", "boundaries_expanded", "identical"):
        setattr(total, name, getattr(total, name) + part[name])
    for name in ("dropped", "entities_in", "entities_out"):
        counts = getattr(total, name)
        for key, n in part[name].items():
            counts[key] = counts.get(key, 0) + n
    total.drop_examples = (total.drop_examples + list(part["drop_examples"]))[:MAX_DROP_EXAMPLES]


def translate_docs_on_ray(
    docs: Sequence[Doc], translator: Translator, target: Target, src_lang: str, markers: Optional[str],
    batch_size: Optional[int], progress: bool, identical: str, options: RayOptions,
) -> Tuple[List[Doc], TranslationReport]:
    """What ``translate_docs(docs, translator, ...)`` returns, with the batches translated on Ray workers."""
    start = time.perf_counter()
    # No documents: runs translate_docs' own checks (markers, identical policy, target language) here,
    # and gives the empty report (engine description, marker style) the batches add up into.
    _, report = translate_docs([], translator, target.lang, src_lang, markers, batch_size, False, identical)
    size = batch_size or translator.batch_size
    payloads = [DocBin(docs=batch, store_user_data=True).to_bytes() for batch in minibatch(docs, size=size)]
    task = TranslateTask(target, src_lang, markers, size, identical)
    vocab = spacy.blank("xx").vocab
    kept: List[Doc] = []
    with tqdm(total=len(docs), desc=f"{src_lang}->{target.lang}", unit="sent", disable=not progress) as bar:
        for result in run_chunks(task, payloads, options):
            msg = srsly.msgpack_loads(result)
            kept.extend(DocBin().from_bytes(msg["docs"]).get_docs(vocab))
            add_report(report, msg["report"])
            bar.update(msg["report"]["sentences_in"])
    if report.sentences_in != len(docs) or report.sentences_in != report.kept + sum(report.dropped.values()):
        raise RuntimeError(f"{len(docs)} sentences sent to the workers, {report.sentences_in} came back "
                           f"({report.kept} kept, dropped {report.dropped})")
    report.seconds = round(time.perf_counter() - start, 3)
    return kept, report


def translate_anywhere(source: Union[str, Path], output_dir: Union[str, Path], targets: Sequence[Target],
                       options: Optional[RayOptions], **kwargs: Any) -> Dict[str, TranslationReport]:
    """:func:`translate` in this process (``options`` None) or with its batches on Ray workers.

    Ray is joined (or started) once, when the first target is translated, after the source and
    the targets have been checked, and left when the last one is written.
    """
    if options is None:
        return translate(source, output_dir, targets, **kwargs)
    require_ray()
    joined: List[bool] = []
    with contextlib.ExitStack() as stack:
        def on_ray(*args: Any) -> Tuple[List[Doc], TranslationReport]:
            if not joined:  # the first target: join Ray for the rest of the run
                stack.enter_context(connected(options))
                joined.append(True)
            return translate_docs_on_ray(*args, options=options)

        return translate(source, output_dir, targets, translate_target=on_ray, **kwargs)
