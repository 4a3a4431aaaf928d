"""``spacy_concner.paired_batcher.v1``: batches that never split a translation pair.

The translation-contrastive loss needs a sentence and its translations in the same batch. The
batcher groups examples by ``user_data["concner.pair_id"]``, shuffles the groups with its own
seeded RNG (``seed = ${training.seed}`` in the configs; each call, i.e. each epoch, draws a new
order from that RNG), and packs whole groups into batches of at most ``size`` units ("words":
tokens, or "examples"). A group larger than ``size`` on its own is emitted as a batch by itself,
or dropped and counted if ``discard_oversize`` is set.

``bucket_buffer`` > 0 buckets by length, like spaCy's ``batch_by_padded.v1``: the shuffled groups
are taken ``bucket_buffer`` at a time, sorted by their longest sentence, cut into batches, and those
batches are shuffled again. Sentences of a batch then have similar lengths, so the transformer pads
less; the batches of an epoch are still a random order of random material.
"""
import itertools
import logging
import random
from typing import Callable, Dict, Iterable, Iterator, List, Union

from spacy.training import Example
from spacy.util import registry

from .docdata import get_pair_id

logger = logging.getLogger(__name__)

Sizing = Union[int, Iterable[int]]


def _group_key(eg: Example, index: int) -> str:
    return get_pair_id(eg.reference) or get_pair_id(eg.predicted) or f"__unpaired{index}"


def group_pairs(examples: Iterable[Example]) -> List[List[Example]]:
    """Examples grouped by pair id, groups in order of first appearance."""
    groups: Dict[str, List[Example]] = {}
    for i, eg in enumerate(examples):
        groups.setdefault(_group_key(eg, i), []).append(eg)
    return list(groups.values())


class PairedBatcher:
    def __init__(self, size: Sizing, unit: str = "words", shuffle: bool = True,
                 discard_oversize: bool = False, seed: int = 0, bucket_buffer: int = 0) -> None:
        if unit not in ("words", "examples"):
            raise ValueError(f"unit must be 'words' or 'examples', got {unit!r}")
        if bucket_buffer < 0:
            raise ValueError(f"bucket_buffer must be >= 0 (0 = no length bucketing), got {bucket_buffer}")
        self.bucket_buffer = bucket_buffer
        self.sizes = itertools.repeat(size) if isinstance(size, int) else iter(size)
        self.unit = unit
        self.shuffle = shuffle
        self.discard_oversize = discard_oversize
        self.rng = random.Random(seed)
        self.n_oversize = 0

    def _measure(self, group: List[Example]) -> int:
        return len(group) if self.unit == "examples" else sum(len(eg) for eg in group)

    def __call__(self, examples: Iterable[Example]) -> Iterator[List[Example]]:
        groups = group_pairs(examples)
        if self.shuffle:
            self.rng.shuffle(groups)
        if not self.bucket_buffer:
            yield from self._pack(groups)
            return
        for start in range(0, len(groups), self.bucket_buffer):
            window = sorted(groups[start:start + self.bucket_buffer], key=lambda g: max(len(eg) for eg in g))
            window_batches = list(self._pack(window))
            if self.shuffle:
                self.rng.shuffle(window_batches)
            yield from window_batches

    def _pack(self, groups: List[List[Example]]) -> Iterator[List[Example]]:
        """Whole groups, in the given order, into batches of at most the current size."""
        batch: List[Example] = []
        batch_size = 0
        target = next(self.sizes)
        for group in groups:
            size = self._measure(group)
            if size > target:
                self.n_oversize += 1
                if self.discard_oversize:
                    logger.warning("paired_batcher: dropped pair %s (size %d > %d); %d so far",
                                   _group_key(group[0], 0), size, target, self.n_oversize)
                    continue
                logger.warning("paired_batcher: pair %s (size %d) exceeds the batch size %d; "
                               "emitted as its own batch", _group_key(group[0], 0), size, target)
                yield list(group)
                target = next(self.sizes)
                continue
            if batch and batch_size + size > target:
                yield batch
                batch, batch_size = [], 0
                target = next(self.sizes)
            batch.extend(group)
            batch_size += size
        if batch:
            yield batch


@registry.batchers("spacy_concner.paired_batcher.v1")
def configure_paired_batcher(
    size: Sizing, unit: str = "words", shuffle: bool = True, discard_oversize: bool = False,
    seed: int = 0, bucket_buffer: int = 0,
) -> Callable[[Iterable[Example]], Iterator[List[Example]]]:
    """Create a batcher that keeps every pair (source + translations) in one batch."""
    return PairedBatcher(size, unit=unit, shuffle=shuffle, discard_oversize=discard_oversize, seed=seed,
                         bucket_buffer=bucket_buffer)
