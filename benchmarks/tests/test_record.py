"""Where a benchmark run says it ran must be where its code came from."""
from pathlib import Path

import pytest

from benchmarks.record import check_checkout, machine_key, machine_record

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_refuses_an_interpreter_that_imports_another_checkout(tmp_path):
    check_checkout(ROOT)  # the test environment imports this checkout
    with pytest.raises(SystemExit, match="imports spacy_concner from"):
        check_checkout(tmp_path)


def test_machines_are_told_apart_by_their_id_not_their_cpu_name():
    here = machine_record()
    assert here["cpus"] >= 1 and here["packages"]["torch"]
    assert machine_key(here) == (here["machine_id"] or here["cpu"])
    twin = {**here, "machine_id": "another-vm"}  # one VM image: same CPU string, another machine
    assert machine_key(twin) != machine_key({**here, "machine_id": "this-vm"})
    assert machine_key({"cpu": "Intel(R) Xeon(R) Processor"}) == "Intel(R) Xeon(R) Processor"  # older records
