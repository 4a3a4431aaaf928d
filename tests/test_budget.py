"""Budgets in passes: the step plan by hand, the words the config's own reader yields, and a real run."""
import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from spacy_concner.errors import InputError
from spacy_concner.training.budget import count_training_words, plan_budget, plan_steps
from spacy_concner.workflow.train import train

ROOT = Path(__file__).resolve().parent.parent


def words(*paths: Path) -> int:
    """Words as the batcher counts them: the predicted Docs, i.e. the text tokenized by the pipeline."""
    nlp = spacy.blank("xx")
    return sum(len(nlp.make_doc(doc.text)) for p in paths for doc in DocBin().from_disk(p).get_docs(nlp.vocab))


def test_plan_steps_by_hand():
    # 2 passes x 1234 words / 500 = 4.9 -> 5 steps; 4 evaluations -> every 2 steps -> 8 steps in all
    b = plan_steps(2, 1234, 500, 4)
    assert (b.steps, b.eval_frequency, b.warmup_steps) == (8, 2, 1)
    b = plan_steps(10, 49918, 500, 10)  # the WikiAnn teacher of the benchmarks: 1000 steps, every 100
    assert (b.steps, b.eval_frequency, b.warmup_steps) == (1000, 100, 100)
    assert plan_steps(1, 10, 500, 4).steps == 4  # at least one step per evaluation
    assert plan_steps(3, 0, 500, 4, steps=1300).steps == 1300  # fixed steps (equal-compute control)
    assert plan_steps(3, 0, 500, 4, steps=1301).steps == 1304  # a multiple of the evaluation frequency
    assert plan_steps(2, 1234, 500, 4).overrides()["training.optimizer.learn_rate.total_steps"] == 8


@pytest.mark.parametrize("passes,words,evals", [(0, 100, 2), (2, 0, 2), (2, 100, 0)])
def test_plan_steps_refuses_an_empty_budget(passes, words, evals):
    with pytest.raises(InputError):
        plan_steps(passes, words, 500, evals)


def _overrides(tiny_bert, corpus_docbins, translations):
    return {"paths.transformer": str(tiny_bert), "paths.train": str(corpus_docbins["en/train"]),
            "paths.dev": str(corpus_docbins["en/dev"]),
            "paths.translations": [str(corpus_docbins[f"{lang}/train.translated"]) for lang in translations]}


@pytest.mark.parametrize("translations", [[], ["de", "es"]])
def test_training_words_are_what_the_reader_yields(tiny_bert, corpus_docbins, translations):
    overrides = _overrides(tiny_bert, corpus_docbins, translations)
    config = spacy.util.load_config(ROOT / "configs" / "concner.cfg", overrides=overrides, interpolate=False)
    expected = words(corpus_docbins["en/train"], *(corpus_docbins[f"{l}/train.translated"] for l in translations))
    assert count_training_words(config) == expected
    budget = plan_budget(ROOT / "configs" / "concner.cfg", overrides, passes=2, evals=4)
    assert budget.words == expected
    assert budget.steps == plan_steps(2, expected, budget.batch_words, 4).steps


def test_budget_needs_a_batch_size_in_words(tiny_bert, corpus_docbins):
    overrides = {**_overrides(tiny_bert, corpus_docbins, []), "training.batcher.unit": "examples"}
    with pytest.raises(InputError, match="--steps"):
        plan_budget(ROOT / "configs" / "concner.cfg", overrides, passes=2, evals=4)


def test_train_runs_the_planned_steps(tmp_path, tiny_bert, corpus_docbins):
    overrides = {**_overrides(tiny_bert, corpus_docbins, []), "training.batcher.size": 400,
                 "components.concner.model.proj_hidden": 16, "components.concner.model.proj_width": 8,
                 "training.logger.output_file": str(tmp_path / "log.jsonl")}
    budget = train(ROOT / "configs" / "concner.cfg", tmp_path / "out", passes=0.5, evals=2, overrides=overrides)
    assert budget.words == words(corpus_docbins["en/train"])
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, budget.eval_frequency, budget.steps]
    assert json.loads((tmp_path / "out" / "budget.json").read_text())["steps"] == budget.steps
    assert not list((tmp_path / "out").glob("*.partial"))  # the plan was written whole, then renamed into place
    assert (tmp_path / "out" / "model-best" / "meta.json").exists()


def test_fixed_steps_need_no_batch_size_in_words(tiny_bert, corpus_docbins):
    """--steps is the way out that the batch-size error names, so it must work with any batcher."""
    overrides = {**_overrides(tiny_bert, corpus_docbins, []), "training.batcher.unit": "examples"}
    budget = plan_budget(ROOT / "configs" / "concner.cfg", overrides, passes=2, evals=4, steps=10)
    assert (budget.steps, budget.eval_frequency, budget.words) == (12, 3, 0)
