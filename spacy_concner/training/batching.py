"""``spacy_concner.paired_batcher.v1``: batches that never split a translation pair.

The translation-contrastive loss needs a sentence and its translations in the same batch. The
batcher groups examples by ``user_data["concner.pair_id"]``, shuffles the groups with its own
seeded RNG (``seed = ${training.seed}`` in the configs; each call, i.e. each epoch, draws a new
order from that RNG), and packs whole groups into batches of at most ``size`` units ("words":
tokens, or "examples") with spaCy's ``minibatch_by_words`` (no tolerance), a group being one
item. A group larger than ``size`` on its own is emitted as a batch by itself, or dropped if
``discard_oversize`` is set; either way it is counted and logged.

(Until 2026-12 the packing was hand-written. For a fixed ``size``, as in every config, the batches
are identical. With a size schedule they differ in two ways, spaCy's rule now: an oversized group
no longer moves the schedule on by a step, and (only with a shrinking schedule) a group larger
than the next size skips it and opens a batch of the size after, instead of overfilling one.)

``bucket = N`` (0: off) sorts each window of N shuffled groups by their longest sentence before
packing, then shuffles the window's batches: a transformer pads every sentence of a batch to the
longest one, and on short, uneven sentences (WikiAnn: 14 pieces on average, batches padded to
~55) that padding is most of the compute. Pairs still stay together.
"""
import itertools
import logging
import random
from typing import Callable, Dict, Iterable, Iterator, List, Union

from spacy.training import Example
from spacy.training.batchers import minibatch_by_words
from spacy.util import registry

from ..pipeline.targets import pair_key

logger = logging.getLogger(__name__)

Sizing = Union[int, Iterable[int]]


def group_pairs(examples: Iterable[Example]) -> List[List[Example]]:
    """Examples grouped by pair id, groups in order of first appearance."""
    groups: Dict[str, List[Example]] = {}
    for i, eg in enumerate(examples):
        groups.setdefault(pair_key(eg, i), []).append(eg)
    return list(groups.values())


class PairedBatcher:
    """The batcher ``spacy_concner.paired_batcher.v1`` builds (see the module docstring)."""

    def __init__(self, size: Sizing, unit: str = "words", shuffle: bool = True,
                 discard_oversize: bool = False, seed: int = 0, bucket: int = 0) -> None:
        if unit not in ("words", "examples"):
            raise ValueError(f"unit must be 'words' or 'examples', got {unit!r}")
        sizes = itertools.repeat(size) if isinstance(size, int) else iter(size)
        self._target = 0
        self._tracked_sizes = self._track_sizes(sizes)  # one schedule across epochs, as before
        self.unit = unit
        self.shuffle = shuffle
        self.discard_oversize = discard_oversize
        self.rng = random.Random(seed)
        self.n_oversize = 0
        if bucket < 0:
            raise ValueError(f"bucket must be 0 (off) or a number of pairs per sorting window, got {bucket}")
        self.bucket = bucket

    def __call__(self, examples: Iterable[Example]) -> Iterator[List[Example]]:
        groups = group_pairs(examples)
        if self.shuffle:
            self.rng.shuffle(groups)
        if not self.bucket:
            yield from self._pack(groups)
            return
        for start in range(0, len(groups), self.bucket):
            window = sorted(groups[start:start + self.bucket], key=lambda g: max(len(eg) for eg in g))
            batches = list(self._pack(window))
            if self.shuffle:
                self.rng.shuffle(batches)
            yield from batches

    def _pack(self, groups: List[List[Example]]) -> Iterator[List[Example]]:
        """Whole groups, in order, into batches of at most the current size: spaCy's
        ``minibatch_by_words`` (no tolerance) over the groups, each measured as a whole."""
        for batch in minibatch_by_words(groups, self._tracked_sizes, tolerance=0.0,
                                        discard_oversize=self.discard_oversize, get_length=self._measure):
            yield [eg for group in batch for eg in group]

    def _track_sizes(self, sizes: Iterator[int]) -> Iterator[int]:
        """The batch size schedule, remembering the size spaCy's batcher is filling to (for the warnings)."""
        for size in sizes:
            self._target = size
            yield size

    def _measure(self, group: List[Example]) -> int:
        size = len(group) if self.unit == "examples" else sum(len(eg) for eg in group)
        if size > self._target:  # minibatch_by_words emits it alone (or drops it): say so, count it
            self.n_oversize += 1
            if self.discard_oversize:
                logger.warning("paired_batcher: dropped pair %s (size %d > %d); %d so far",
                               pair_key(group[0], 0), size, self._target, self.n_oversize)
            else:
                logger.warning("paired_batcher: pair %s (size %d) exceeds the batch size %d; "
                               "emitted as its own batch", pair_key(group[0], 0), size, self._target)
        return size


@registry.batchers("spacy_concner.paired_batcher.v1")
def configure_paired_batcher(
    size: Sizing, unit: str = "words", shuffle: bool = True, discard_oversize: bool = False,
    seed: int = 0, bucket: int = 0,
) -> Callable[[Iterable[Example]], Iterator[List[Example]]]:
    """Create a batcher that keeps every pair (source + translations) in one batch."""
    return PairedBatcher(size, unit=unit, shuffle=shuffle, discard_oversize=discard_oversize, seed=seed,
                         bucket=bucket)
