"""The training configs are complete spaCy configs (users copy whole files), so they repeat each other.
This states exactly where each differs from ``configs/concner.cfg``: a change to one that is not
made to the others (a transformer setting, the optimizer, a schedule) fails here instead of
silently making the systems incomparable. ``finetune_domain.cfg`` sources a trained transformer
and is a different kind of config, so it is not compared."""
from pathlib import Path
from typing import Dict

import pytest
from thinc.api import Config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
ABSENT = "<absent>"
NO_CONTRAST = {"components.concner.loss.label_weight": (0.1, 0.0), "components.concner.loss.trans_weight": (0.1, 0.0)}
EXPECTED = {
    "baseline_src_trans.cfg": NO_CONTRAST,
    "baseline_src.cfg": {
        **NO_CONTRAST,
        "corpora.train.translations": ("${paths.translations}", []),
        "corpora.train.langs": ("", ABSENT),
    },
    "distill.cfg": {
        **NO_CONTRAST,
        "components.concner.loss.distill_weight": (0.0, 1.0),
        "system.seed": (0, 1000),  # the student's own seed (project.yml student_seed)
        "paths.soft": (ABSENT, []),
        "corpora.train.@readers": ("spacy_concner.PairedCorpus.v1", "spacy_concner.DistillCorpus.v1"),
        "corpora.train.soft": (ABSENT, "${paths.soft}"),
        "corpora.train.source": ("${paths.train}", ABSENT),
        "corpora.train.labelled_source": (ABSENT, "${paths.train}"),
        "corpora.train.translations": ("${paths.translations}", ABSENT),
        "corpora.train.labelled_translations": (ABSENT, "${paths.translations}"),
        "corpora.train.on_missing_source": ("error", ABSENT),
        "corpora.train.max_length": (0, ABSENT),
    },
}


def settings(name: str) -> Dict[str, object]:
    """Every setting of a config as ``section.key -> value`` (uninterpolated, as written)."""
    def flat(block: dict, prefix: str = "") -> Dict[str, object]:
        out: Dict[str, object] = {}
        for key, value in block.items():
            if isinstance(value, dict) and value:
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    return flat(Config().from_str((CONFIGS / name).read_text(encoding="utf-8"), interpolate=False))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_differs_from_concner_cfg_exactly_here(name):
    base, other = settings("concner.cfg"), settings(name)
    found = {key: (base.get(key, ABSENT), other.get(key, ABSENT))
             for key in set(base) | set(other) if base.get(key, ABSENT) != other.get(key, ABSENT)}
    assert found == EXPECTED[name]


def test_configs_are_complete():
    """Every compared config has the blocks `spacy train` needs (none relies on another file)."""
    for name in ["concner.cfg", *EXPECTED]:
        sections = {key.split(".")[0] for key in settings(name)}
        assert {"paths", "system", "nlp", "components", "corpora", "training", "initialize"} <= sections, name
