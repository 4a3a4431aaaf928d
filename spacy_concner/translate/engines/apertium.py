"""The ``apertium`` engine: offline rule-based MT in HTML mode, so span markers pass through."""
import logging
import re
import shutil
import subprocess
from typing import Any, Dict, List, Sequence

from .base import EngineFailed, EngineUnavailable, Translator, iso3, register_builtin

logger = logging.getLogger(__name__)


class ApertiumTranslator(Translator):
    """Apertium in HTML mode: each sentence a ``<p id>`` block, span markers pass through."""

    name = "apertium"
    markup = True
    _block = re.compile(r'<p id="s(\d+)">(.*?)</p>', re.S)

    def __init__(self, src: str, tgt: str, binary: str = "apertium", batch_size: int = 500, timeout: float = 600) -> None:
        self.binary = shutil.which(binary)
        pkg = f"apertium-{iso3(src)}-{iso3(tgt)}"
        if self.binary is None:
            raise EngineUnavailable(f"The apertium engine needs `apt-get install apertium {pkg}` (no {binary!r} on PATH).")
        listed = subprocess.run([self.binary, "-l"], capture_output=True, text=True, check=False).stdout.split()
        for mode in (f"{iso3(src)}-{iso3(tgt)}", f"{src}-{tgt}"):
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
