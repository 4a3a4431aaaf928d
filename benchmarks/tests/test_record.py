"""Where a benchmark run says it ran must be where its code came from."""
from pathlib import Path

import pytest

from benchmarks.record import check_checkout

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_refuses_an_interpreter_that_imports_another_checkout(tmp_path):
    check_checkout(ROOT)  # the test environment imports this checkout
    with pytest.raises(SystemExit, match="imports spacy_concner from"):
        check_checkout(tmp_path)
