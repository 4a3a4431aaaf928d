"""Where a benchmark run says it ran must be where its code came from."""
from pathlib import Path

import pytest

from benchmarks.record import check_checkout, machine_key, machine_record

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_refuses_an_interpreter_that_imports_another_checkout(tmp_path):
    check_checkout(ROOT)  # the test environment imports this checkout
    with pytest.raises(SystemExit, match="imports spacy_concner from"):
        check_checkout(tmp_path)


def test_machines_are_told_apart_by_their_id_and_their_cpu():
    here = machine_record()
    assert here["cpus"] >= 1 and here["packages"]["torch"]
    this = {**here, "cpu": "Intel(R) Xeon(R) Processor", "machine_id": "3d12"}
    assert machine_key(this) == "Intel(R) Xeon(R) Processor / 3d12"
    assert machine_key({**this, "machine_id": "another-vm"}) != machine_key(this)  # one image: same CPU string
    assert machine_key({**this, "cpu": "AMD EPYC"}) != machine_key(this)  # one image id on other hardware
    assert machine_key({"cpu": "Intel(R) Xeon(R) Processor"}) == "Intel(R) Xeon(R) Processor"  # older records
