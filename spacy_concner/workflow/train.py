"""``spacy train`` with a budget in passes: plan the steps from the run's own data, then train.

Everything else is spaCy's: the config, its overrides, the training loop, ``model-best``. The plan is
written beside the model (``budget.json``) so that a run says how long it trained and why.
"""
from pathlib import Path
from typing import Any, Dict, Optional, Union

from spacy.cli.train import train as spacy_train
from wasabi import msg

from ..fileio import write_json
from ..training.budget import Budget, plan_budget


def train(config_path: Union[str, Path], output_path: Union[str, Path], *, passes: float, evals: int,
          steps: int = 0, overrides: Optional[Dict[str, Any]] = None, use_gpu: int = -1) -> Budget:
    """Train ``config_path`` for ``passes`` passes over its training data (or ``steps`` steps), evaluated
    ``evals`` times; the model-best/model-last folders land in ``output_path`` as with ``spacy train``."""
    overrides = dict(overrides or {})
    budget = plan_budget(config_path, overrides, passes, evals, steps)
    planned = (f"{budget.passes:g} passes over {budget.words} words, batches of {budget.batch_words}"
               if budget.words else "fixed by --steps")
    msg.info(f"Budget: {budget.steps} steps ({planned}), evaluated every {budget.eval_frequency}, "
             f"warm-up {budget.warmup_steps}")
    output_path = Path(output_path)
    output_path.mkdir(parents=True, exist_ok=True)
    # all-or-nothing: a process waiting for the plan (the benchmark's control) never reads half a file
    write_json(output_path / "budget.json", budget.to_dict())
    spacy_train(config_path, output_path, use_gpu=use_gpu, overrides={**overrides, **budget.overrides()})
    return budget
