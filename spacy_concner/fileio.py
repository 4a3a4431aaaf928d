"""Reading user files with errors that name them, and writing outputs all-or-nothing.

- :func:`read_lines` decodes UTF-8 line by line, so a bad byte is reported with its file and
  line, not as a bare codec error.
- :func:`read_docbin` turns "not a DocBin" into a message naming the file.
- :func:`atomic_output` writes to a temporary sibling and renames it into place when complete:
  an interrupted step never leaves a file (or folder) that a rerun would take for finished;
  :func:`write_text_atomic`, :func:`write_json` and :func:`write_docbin` write through it.
"""
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Tuple, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .errors import InputError, MissingFile

PathLike = Union[str, Path]


def require_file(path: PathLike, what: str = "Input file") -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingFile(f"{what} not found: {path}. Check the path.")
    if path.is_dir():
        raise InputError(f"{path} is a directory; {what.lower()} must be a file.")
    return path


def read_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """``(line number, line without its newline)`` for every line of a UTF-8 file (BOM allowed)."""
    path = require_file(path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise InputError(
                    f"{path}:{lineno}: not UTF-8 text (byte {raw[err.start]:#04x} at column {err.start + 1}); "
                    f"convert the file, e.g. `iconv -f latin1 -t utf-8 {path.name}`."
                ) from None
            yield lineno, line.rstrip("\n").rstrip("\r")


def read_docbin(path: PathLike, vocab: Vocab, what: str = "DocBin") -> List[Doc]:
    """All Docs of a ``.spacy`` file; a missing or unreadable file is an :class:`InputError`."""
    path = require_file(path, what)
    if path.suffix != ".spacy":
        raise InputError(f"Expected a DocBin file ending in .spacy, got {path}.")
    try:
        return list(DocBin().from_disk(path).get_docs(vocab))
    except Exception as err:  # zlib / msgpack / KeyError: all mean "not a DocBin we can read"
        raise InputError(
            f"{path} is not a readable DocBin ({type(err).__name__}: {' '.join(str(err).split())[:120]}); write it with "
            "spacy.tokens.DocBin(...).to_disk() or `python -m spacy_concner prepare`."
        ) from None


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    Works for a file or a folder (an existing folder at ``path`` is replaced whole).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the caller creates a file or a folder there
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_text_atomic(path: PathLike, text: str) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: PathLike, data: Any) -> Path:
    """A report as indented UTF-8 JSON, all-or-nothing.

    The stdlib's ``json``, not ``srsly.write_json``: srsly's ujson keeps 10 decimals and reads floats
    back off by an ulp, so F1 values in ``evaluation.json`` would change; it also escapes non-ASCII
    text (the translations quoted in a report) and writes in place.
    """
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_docbin(docs: Iterable[Doc], path: PathLike) -> Path:
    """Write Docs (with their user_data) to a DocBin, all-or-nothing; ``docs`` may be a generator."""
    with atomic_output(path) as tmp:
        DocBin(docs=docs, store_user_data=True).to_disk(tmp)
    return Path(path)
