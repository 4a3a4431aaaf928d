"""glibc's ``malloc_trim``: hand the heap memory that freed tensors left behind back to the OS.

Shared by the training callback (``spacy_concner.release_memory.v1``, training/memory.py) and the
inference component (``concner_release_memory``, pipeline/release_memory.py); it lives outside both
so that ``pipeline/`` (what ``spacy.load`` runs) never imports ``training/``.
"""
import ctypes
import ctypes.util
import logging
from typing import Callable, Optional

logger = logging.getLogger(__name__)


def malloc_trim() -> Optional[Callable[[int], int]]:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trimmer(every: int, owner: str, unit: str) -> Optional[Callable[[int], int]]:
    """``malloc_trim`` for a schedule of every ``every`` ``unit`` (0: off, None); a bad value is an error,
    a C library without it is logged once and gives None."""
    if every < 0:
        raise ValueError(f"{owner}: every must be 0 (off) or a number of {unit}, got {every}")
    trim = malloc_trim() if every else None
    if every and trim is None:
        logger.info("%s: this C library has no malloc_trim; nothing to release", owner)
    return trim
