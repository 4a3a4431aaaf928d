"""Batch tagging: a trained pipeline tags a corpus (text or JSONL in, DocBin or JSONL out).

The input is read and checked *before* any pipeline runs, by the driver, whichever engine tags
it: one process (``nlp.pipe``) or Ray workers (:mod:`.ray_runner`). So bad input gets the same
one-line :class:`~spacy_concner.errors.InputError` on both paths, and an empty input is an error,
not an empty success. The corpus is cut into chunks of exactly ``batch_size`` sentences, the
batches ``nlp.pipe(batch_size=...)`` forms in one process, so a Ray worker sees the same batches
and the outputs are identical. Every run writes ``OUTPUT.report.json``: documents in, out, and
dropped with their reason (in == out + dropped is checked, not assumed).
"""
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..errors import InputError
from ..fileio import atomic_output, read_lines, write_text_atomic

logger = logging.getLogger(__name__)

#: ``doc.user_data`` key of a tagged Doc's input line number (1-based) in DocBin output.
LINE = "concner.line"
INPUT_FORMATS = ("auto", "text", "jsonl")
#: ``tag --sort-window`` default: sentences per length-sorted window (benchmarks/results/inference.md: with it
#: float32 tags 1.11x faster, bfloat16 2.04x instead of 1.75x, F1 unchanged)
DEFAULT_SORT_WINDOW = 4096
OUTPUT_FORMATS = ("auto", "spacy", "jsonl")


@dataclass
class Record:
    """One sentence to tag: its input line number, its text, and (JSONL) its other fields."""

    line: int
    text: str
    meta: Dict[str, Any] = field(default_factory=dict)


@dataclass
class TagReport:
    """What a run read, wrote and dropped; written as JSON next to the output."""

    input: str
    output: str
    engine: str
    workers: int
    batch_size: int
    documents_in: int = 0
    documents_out: int = 0
    dropped: Dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    address: Optional[str] = None
    sort_window: int = 0
    settings: Dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Every input document is written or counted as dropped, exactly once."""
        if self.documents_in != self.documents_out + sum(self.dropped.values()):
            raise RuntimeError(f"documents lost or duplicated: {self.documents_in} in, {self.documents_out} out, "
                               f"dropped {self.dropped}")

    def write(self, path: Union[str, Path]) -> Path:
        self.check()
        return write_text_atomic(path, json.dumps(asdict(self), indent=2) + "\n")


def report_path(output: Union[str, Path]) -> Path:
    """``tagged.jsonl`` -> ``tagged.report.json`` (beside the output)."""
    output = Path(output)
    return output.with_name(output.name.rsplit(".", 1)[0] + ".report.json")


def resolve_format(path: Union[str, Path], fmt: str, choices: Sequence[str], jsonl_suffixes: Sequence[str],
                   other: str, what: str) -> str:
    if fmt not in choices:
        raise InputError(f"{what} format must be one of {', '.join(choices)}, not {fmt!r}.")
    if fmt != "auto":
        return fmt
    return "jsonl" if Path(path).suffix.lower() in jsonl_suffixes else other


def read_records(path: Union[str, Path], fmt: str = "auto", dropped: Optional[Dict[str, int]] = None) -> List[Record]:
    """The sentences of a text file (one per line) or a JSONL file (objects with a ``"text"`` field).

    Blank lines (and JSONL records whose text is blank) are dropped, counted in ``dropped`` and
    logged; a line that is not valid JSON, not an object or without a string ``"text"`` is an
    :class:`InputError` naming the line; a file with nothing to tag is an :class:`InputError`.
    """
    fmt = resolve_format(path, fmt, INPUT_FORMATS, (".jsonl", ".ndjson"), "text", "Input")
    dropped = dropped if dropped is not None else {}
    records: List[Record] = []
    for lineno, line in read_lines(path):
        if not line.strip():
            dropped["empty_line"] = dropped.get("empty_line", 0) + 1
            continue
        if fmt == "text":
            records.append(Record(lineno, line.strip()))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{lineno}: not valid JSON ({err.msg} at column {err.colno}); write one JSON "
                             "object per line with a \"text\" field.") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise InputError(f"{path}:{lineno}: expected a JSON object with a string \"text\" field, got "
                             f"{line.strip()[:80]!r}.")
        if not obj["text"].strip():
            dropped["empty_text"] = dropped.get("empty_text", 0) + 1
            continue
        meta = {k: v for k, v in obj.items() if k != "text"}
        records.append(Record(lineno, obj["text"].strip(), meta))
    for reason, n in dropped.items():
        logger.warning("%s: %d %s record(s) dropped", path, n, reason.replace("_", " "))
    if not records:
        raise InputError(f"{path}: no sentence to tag (the file is empty or blank); pass text with one sentence per "
                         "line, or JSONL with a \"text\" field.")
    return records


def chunked(items: Sequence[Any], size: int) -> List[Sequence[Any]]:
    """Consecutive slices of ``size`` items: the batches ``nlp.pipe(batch_size=size)`` forms."""
    if size < 1:
        raise InputError(f"batch size must be at least 1, not {size}.")
    return [items[i:i + size] for i in range(0, len(items), size)]


def ents_json(doc: Doc) -> List[Dict[str, Any]]:
    return [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents]


def jsonl_line(record: Record, doc: Doc) -> str:
    """``{"line", "text", "ents": [{"start", "end", "label"}], "meta"?}``: character offsets into ``text``."""
    out: Dict[str, Any] = {"line": record.line, "text": doc.text, "ents": ents_json(doc)}
    if record.meta:
        out["meta"] = record.meta
    return json.dumps(out, ensure_ascii=False)


def load_in_worker(spec: str, gpu: bool) -> Language:
    """``spacy.load`` in a worker; with ``gpu``, on the GPU Ray assigned to it (visible as device 0)."""
    import spacy

    if gpu:
        spacy.require_gpu(0)
    return spacy.load(spec)


class PipelineTask:
    """One chunk's work in a worker: picklable, loads the pipeline once per process (``setup``) with
    the run's inference settings (:mod:`spacy_concner.inference`)."""

    def __init__(self, model: str, batch_size: int, gpu: bool = False, settings: Optional[Dict[str, Any]] = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.gpu = gpu
        self.settings = dict(settings or {})
        self.nlp = None

    def setup(self) -> None:
        from ..inference import apply_inference_settings

        self.nlp = load_in_worker(self.model, self.gpu)
        apply_inference_settings(self.nlp, **self.settings)


class TagTask(PipelineTask):
    """Tags one chunk of texts. Docs travel back as DocBin bytes without ``user_data`` (the transformer
    output stays in the worker); the driver adds the line numbers."""

    def __call__(self, payload: bytes) -> bytes:
        texts = srsly.json_loads(payload)
        docs = list(self.nlp.pipe(texts, batch_size=self.batch_size))
        return DocBin(docs=docs, store_user_data=False).to_bytes()


def require_pipeline(model: Union[str, Path]) -> None:
    """Fail in the driver, in one line, on a pipeline the workers could not load either."""
    from spacy.util import is_package

    path = Path(model)
    if not (path / "config.cfg").is_file() and not is_package(str(model)):
        raise InputError(f"No pipeline at {model!r}: pass a trained pipeline folder (with config.cfg) or an "
                         "installed package name.")


def worker_spec(model: Union[str, Path]) -> str:
    """What a worker loads: an absolute path where ``model`` is a folder here (workers have their own cwd)."""
    path = Path(model)
    return str(path.resolve()) if path.exists() else str(model)


def length_order(lengths: Sequence[int], window: int) -> List[int]:
    """Indices of ``lengths`` (the texts' lengths) sorted by length within consecutive windows of ``window``.

    Batches cut from the sorted stream hold sentences of similar length, so the encoder pads less
    (inside a batch ml/transformer.py already sorts; across batches only the reader can). Windows
    bound the memory: at most ``window`` Docs wait to be put back in input order. 0: input order.
    """
    if window < 0:
        raise InputError(f"sort window must be 0 (off) or a number of sentences, not {window}.")
    if window == 0:
        return list(range(len(lengths)))
    order: List[int] = []
    for start in range(0, len(lengths), window):
        order.extend(sorted(range(start, min(start + window, len(lengths))), key=lengths.__getitem__))
    return order


def in_input_order(docs: Iterable[Doc], order: Sequence[int], window: int) -> Iterator[Doc]:
    """Undo :func:`length_order` on the tagged stream, one window at a time."""
    if window == 0:
        yield from docs
        return
    docs = iter(docs)
    for start in range(0, len(order), window):
        ids = order[start:start + window]
        slots: List[Optional[Doc]] = [None] * len(ids)
        for i, doc in zip(ids, docs):
            slots[i - start] = doc
        yield from (doc for doc in slots if doc is not None)


def tag_locally(nlp, records: Sequence[Record], batch_size: int) -> Iterator[Doc]:
    return nlp.pipe((r.text for r in records), batch_size=batch_size)


def tag_on_ray(model: str, records: Sequence[Record], batch_size: int, options,
               settings: Optional[Dict[str, Any]] = None) -> Iterator[Doc]:
    """The same Docs as :func:`tag_locally`, tagged by Ray workers, in input order."""
    from .ray_runner import run_chunks

    payloads = [srsly.json_dumps([r.text for r in chunk]).encode("utf8") for chunk in chunked(records, batch_size)]
    vocab = Vocab()
    task = TagTask(model, batch_size, gpu=options.num_gpus > 0, settings=settings)
    for result in run_chunks(task, payloads, options):
        yield from DocBin().from_bytes(result).get_docs(vocab)


def write_tagged(records: Sequence[Record], docs: Iterable[Doc], output: Union[str, Path], fmt: str) -> int:
    """Write DocBin or JSONL output all-or-nothing, one document per record; returns how many."""
    n = 0
    docs = iter(docs)
    with atomic_output(output) as tmp:
        if fmt == "jsonl":
            with tmp.open("w", encoding="utf-8") as fh:
                for record, doc in zip(records, docs):
                    fh.write(jsonl_line(record, doc) + "\n")
                    n += 1
        else:
            db = DocBin(store_user_data=True)
            for record, doc in zip(records, docs):
                doc.user_data.clear()  # drop the transformer output; keep where the sentence came from
                doc.user_data[LINE] = record.line
                db.add(doc)
                n += 1
            db.to_disk(tmp)
        if n != len(records) or next(docs, None) is not None:
            raise RuntimeError(f"{len(records)} sentences sent to the tagger but a different number came back")
    return n


def tag_file(
    model: str, input_path: Union[str, Path], output_path: Union[str, Path], batch_size: int = 64,
    input_format: str = "auto", output_format: str = "auto", ray_options=None,
    load: Optional[Callable[[], Language]] = None, sort_window: int = 0, settings: Optional[Dict[str, Any]] = None,
) -> TagReport:
    """Tag ``input_path`` with ``model`` into ``output_path`` and write its report beside it.

    ``ray_options`` (a :class:`~.ray_runner.RayOptions`) runs the pipeline on Ray workers, which
    load ``model`` themselves (a path they can read, or an installed package); without it, one
    process runs ``nlp.pipe`` on ``load()`` (default ``spacy.load(model)``), called once the input
    has been read and checked. ``sort_window``: tag in length-sorted windows of that many sentences
    (:func:`length_order`; the output keeps the input order). ``settings``: the encoder's inference
    settings for this run (:func:`spacy_concner.inference.apply_inference_settings`).
    """
    start = time.perf_counter()
    out_fmt = resolve_format(output_path, output_format, OUTPUT_FORMATS, (".jsonl", ".ndjson"), "spacy", "Output")
    if ray_options is not None:
        from .ray_runner import require_ray

        require_ray()
    dropped: Dict[str, int] = {}
    records = read_records(input_path, input_format, dropped)
    chunked(records, batch_size)  # validates batch_size before a pipeline loads
    order = length_order([len(r.text) for r in records], sort_window)
    stream = [records[i] for i in order]
    if ray_options is None:
        from ..inference import apply_inference_settings

        if load is None:
            import spacy

            nlp = spacy.load(model)
        else:
            nlp = load()
        apply_inference_settings(nlp, **(settings or {}))
        docs = tag_locally(nlp, stream, batch_size)
    else:
        require_pipeline(model)
        docs = tag_on_ray(worker_spec(model), stream, batch_size, ray_options, settings)
    n_out = write_tagged(records, in_input_order(docs, order, sort_window), output_path, out_fmt)
    report = TagReport(
        input=str(input_path), output=str(output_path), engine="ray" if ray_options else "local",
        workers=ray_options.workers if ray_options else 1, batch_size=batch_size,
        documents_in=len(records) + sum(dropped.values()), documents_out=n_out, dropped=dropped,
        seconds=round(time.perf_counter() - start, 3), address=ray_options.address if ray_options else None,
        sort_window=sort_window, settings=dict(settings or {}),
    )
    report.write(report_path(output_path))
    return report
