"""``concner_release_memory``: a pipeline component that hands freed heap memory back to the OS.

The inference counterpart of ``spacy_concner.release_memory.v1`` (training): every batch of new
sentence lengths leaves tensors of new shapes, glibc keeps what they freed, and a long-running
``nlp.pipe`` grows its resident memory (measured in benchmarks/README.md, "Memory"). Add it last;
it changes no Doc:

    nlp.add_pipe("concner_release_memory", config={"every": 1000})

On a C library without ``malloc_trim`` (macOS, musl) it does nothing and says so once.
"""
from typing import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc

from ..heap import trimmer


@Language.factory("concner_release_memory", default_config={"every": 1000})
def make_release_memory(nlp: Language, name: str, every: int) -> "ReleaseMemory":
    return ReleaseMemory(name, every)


class ReleaseMemory:
    """Calls ``malloc_trim(0)`` once every ``every`` docs (0: never); the docs pass unchanged."""

    def __init__(self, name: str, every: int) -> None:
        self.name = name
        self.every = every
        self._trim = trimmer(every, name, "docs")
        self._seen = 0

    def _count(self) -> None:
        self._seen += 1
        if self._trim is not None and self._seen % self.every == 0:
            self._trim(0)

    def __call__(self, doc: Doc) -> Doc:
        self._count()
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for doc in stream:
            self._count()
            yield doc
