"""Loading a trained pipeline for a workflow step (annotate, evaluate, export, expand).

One place, so that every step says the same thing when the folder or package is not a loadable
pipeline: which one, what spaCy said, and what to pass instead.
"""
from pathlib import Path
from typing import Union

import spacy
from spacy.language import Language

from .errors import InputError, one_line


def load_pipeline(spec: Union[str, Path], what: str = "pipeline") -> Language:
    """``spacy.load(spec)``; a folder or name spaCy cannot load is an :class:`InputError` naming it."""
    try:
        return spacy.load(spec)
    except (OSError, ValueError, KeyError) as err:  # missing folder, incomplete folder, unknown package
        raise InputError(
            f"Cannot load the {what} {str(spec)!r} ({type(err).__name__}: {one_line(err)[:300]}); pass a trained "
            "pipeline folder (e.g. training/concner/model-best) or an installed package name."
        ) from None
