"""The ``file`` engine: translations made elsewhere (any MT service), read back by pair id."""
from typing import Any, Dict, List, Optional, Sequence

from ...errors import InputError
from ...fileio import read_lines, require_file
from .base import Translator, register_builtin


class FileTranslator(Translator):
    """Precomputed translations (any MT service), ``pair_id<TAB>marked translation`` per line.

    Write the input for such a service with :func:`spacy_concner.translate.translate_train.export_marked`.
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
