"""Training budgets in passes over a run's own training data.

A budget in optimizer steps fits one data size only: 60 steps are many passes over 150 sentences and a
fraction of one over 50,000. spaCy's ``max_epochs`` counts passes, but the learning-rate schedule
(``warmup_linear.v1``'s ``warmup_steps`` and ``total_steps``) and ``eval_frequency`` still count steps, so
the step count is planned here from the words that the config's own training reader yields, and handed to
``spacy train`` as ordinary config overrides (``training.max_steps`` and friends).
"""
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Union

import spacy
from spacy.util import dot_to_object, load_config, registry
from thinc.api import Config

from ..errors import InputError

WARMUP_DIVISOR = 10  # warm-up = a tenth of the steps, as in every WikiAnn run of the benchmarks


@dataclass(frozen=True)
class Budget:
    """How long one ``spacy train`` run trains and how often it evaluates."""

    passes: float
    words: int
    batch_words: int
    evals: int
    steps: int
    eval_frequency: int
    warmup_steps: int

    def overrides(self) -> Dict[str, Any]:
        """The config overrides that make ``spacy train`` follow this budget."""
        return {
            "training.max_steps": self.steps,
            "training.max_epochs": 0,
            "training.eval_frequency": self.eval_frequency,
            "training.optimizer.learn_rate.warmup_steps": self.warmup_steps,
            "training.optimizer.learn_rate.total_steps": self.steps,
        }

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def plan_steps(passes: float, words: int, batch_words: int, evals: int, steps: int = 0) -> Budget:
    """Steps for ``passes`` over ``words`` in batches of ``batch_words`` words, evaluated ``evals`` times.

    The steps are a multiple of the evaluation frequency, so the last step is evaluated too. ``steps`` > 0
    fixes the step count instead (the benchmark's equal-compute control: as many steps as another run).
    """
    if evals < 1:
        raise InputError(f"evals must be at least 1 (English dev evaluations per run), got {evals}.")
    if steps <= 0:
        if passes <= 0 or words <= 0:
            raise InputError(
                f"Cannot plan a budget of {passes} passes over {words} training words: pass --passes > 0, and "
                "check that the training corpus is not empty."
            )
        steps = max(evals, math.ceil(passes * words / batch_words))
    every = math.ceil(steps / evals)
    steps = every * evals
    return Budget(passes=passes if words else 0.0, words=words, batch_words=batch_words, evals=evals,
                  steps=steps, eval_frequency=every, warmup_steps=max(1, steps // WARMUP_DIVISOR))


def batch_words(config: Config) -> int:
    """The batcher's size in words (the configs' ``spacy_concner.paired_batcher.v1``, ``unit = "words"``)."""
    batcher = config["training"]["batcher"]
    size = batcher.get("size")
    if batcher.get("unit", "words") != "words" or not isinstance(size, int):
        raise InputError(
            f"A budget in passes needs a batcher whose size is a fixed number of words; [training.batcher] has "
            f"size = {size!r}, unit = {batcher.get('unit')!r}. Set an integer size with unit = \"words\", or pass "
            "--steps."
        )
    return size


def count_training_words(config: Config) -> int:
    """Words in one pass over the training corpus, read by the config's own reader (as the batcher counts)."""
    config = config.interpolate()
    nlp = spacy.blank(config["nlp"]["lang"])
    block = dot_to_object(config, config["training"]["train_corpus"])
    corpus = registry.resolve({"corpus": block})["corpus"]
    return sum(len(eg) for eg in corpus(nlp))


def plan_budget(config_path: Union[str, Path], overrides: Dict[str, Any], passes: float, evals: int,
                steps: int = 0) -> Budget:
    """The budget of ``spacy train CONFIG`` with ``overrides``: ``passes`` over its training data, or exactly
    ``steps`` steps (then neither the words nor the batch size matter)."""
    if steps > 0:
        return plan_steps(passes, 0, 0, evals, steps)
    config = load_config(config_path, overrides=overrides, interpolate=False)
    return plan_steps(passes, count_training_words(config), batch_words(config), evals)
