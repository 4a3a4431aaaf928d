"""What every MT engine shares: the :class:`Translator` interface, the registry, the errors.

The registry lives here, below the engines, so each engine module imports this one and
nothing imports in a circle; :mod:`spacy_concner.translate.engines` imports every built-in
engine, so a lookup through :func:`get_translator` always sees them.
"""
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence

import catalogue

from ...errors import InputError

translators = catalogue.create("spacy_concner", "translators", entry_points=True)

# ISO 639-1 -> ISO 639-3 as Apertium and FreeDict name their packages.
ISO3 = {
    "en": "eng", "es": "spa", "de": "deu", "nl": "nld", "pt": "por", "fr": "fra", "it": "ita",
    "ca": "cat", "gl": "glg", "eu": "eus", "ro": "ron", "oc": "oci", "hu": "hun", "bg": "bul",
    "ru": "rus", "pl": "pol", "cs": "ces", "sv": "swe", "da": "dan", "fi": "fin", "el": "ell",
    "tr": "tur", "ja": "jpn", "zh": "zho", "ar": "ara", "hi": "hin", "sk": "slk", "hr": "hrv",
}


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
    """Build the engine registered as ``name`` for ``src`` -> ``tgt``; unknown names and options are InputErrors."""
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


def iso3(lang: str) -> str:
    """The ISO 639-3 code Apertium and FreeDict packages use (the code itself when not listed)."""
    return ISO3.get(lang, lang)
