"""The error type for bad user input: one line that names the file (and line), says what is wrong
and what to do.

It subclasses thinc/confection's ``ConfigValidationError`` (itself a ``ValueError``) because that
is what ``spacy train`` and the other spaCy commands catch around config resolution and
``nlp.initialize``: a reader raising an :class:`InputError` ends ``spacy train`` with the message
and exit status 1 instead of a traceback. Our own CLI catches it, and only it, at its boundary
(:mod:`.cli`): any other exception is a bug and keeps its traceback, so library code raises an
:class:`InputError` (or a subclass) for every input the user can fix.
"""
from typing import Any, Optional

from thinc.api import ConfigValidationError


class InputError(ConfigValidationError):
    """Bad input the user can fix; ``str(err)`` is the whole message."""

    def __init__(self, message: str = "", *, title: Optional[str] = None, desc: Optional[str] = None,
                 config: Any = None, errors: Any = None, parent: Optional[str] = None,
                 show_config: bool = False) -> None:
        # The keyword arguments are ConfigValidationError's: spaCy rebuilds the error with them.
        self.message = message if title is None else title
        super().__init__(title=self.message, desc=desc, config=config, errors=errors, parent=parent,
                         show_config=False)

    def __str__(self) -> str:
        return self.message


class MissingFile(InputError, FileNotFoundError):
    """A named input file or folder does not exist (also a ``FileNotFoundError`` for callers)."""


def one_line(err: BaseException) -> str:
    """An error's message on one line (what the CLI prints)."""
    return " ".join(str(err).split()) or type(err).__name__
