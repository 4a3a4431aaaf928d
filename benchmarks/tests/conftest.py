"""The package tests' offline fixtures (a tiny BERT built locally, seeds fixed) serve the benchmarks' tests too."""
from tests.conftest import fixed_seeds, tiny_bert  # noqa: F401
