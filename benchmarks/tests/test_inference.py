"""The inference benchmark's decision rule, applied to numbers with a known answer."""
from benchmarks.inference import decide, levers, log_interval

WINDOW = 4096


def _speed(ratios):
    return {"cases": {name: {"vs_fp32_cpu": {"ratio": r, "ci95": [r - 0.1, r + 0.1]}} for name, r in ratios.items()}}


def _f1(deltas, base=60.0):
    f1 = {"fp32": {"de": base, "hu": base}, "fp32_padded": {"de": base, "hu": base}}
    for name, (de, hu) in deltas.items():
        f1[name] = {"de": base + de, "hu": base + hu}
    return {"model": "m", "path": "p", "limit": 10, "f1": f1}


def test_the_fastest_lever_within_half_a_point_on_every_language_is_the_default():
    names = [lever.name for lever in levers(WINDOW) if lever.name not in ("fp32", "fp32_padded")]
    speed = _speed({**{n: 1.5 for n in names}, "int8_sorted": 3.0, "bf16_sorted": 2.0, "sorted": 1.05})
    f1 = _f1({**{n: (0.0, 0.0) for n in names}, "int8_sorted": (0.2, -0.6), "bf16_sorted": (-0.5, 0.3)})
    decision = decide(speed, [f1], WINDOW)
    assert decision["levers"]["int8_sorted"] == {"f1_delta": {"de": 0.2, "hu": -0.6}, "f1_ok": False, "faster": True,
                                                 "qualifies": False}
    assert decision["levers"]["bf16_sorted"]["qualifies"]  # -0.5 is within the rule
    assert not decision["levers"]["sorted"]["faster"]  # interval 0.95-1.15 includes 1
    assert decision["default"] == "bf16_sorted"


def test_no_lever_qualifies_without_f1_numbers():
    names = [lever.name for lever in levers(WINDOW)]
    assert decide(_speed({n: 2.0 for n in names}), [], WINDOW)["default"] is None


def test_geometric_mean_and_interval_of_ratios():
    mean, ci = log_interval([2.0, 2.0, 2.0])
    assert abs(mean - 2.0) < 1e-9 and abs(ci[0] - 2.0) < 1e-9 and abs(ci[1] - 2.0) < 1e-9
    mean, ci = log_interval([1.0, 4.0])
    assert abs(mean - 2.0) < 1e-9 and ci[0] < 1.0 < 4.0 < ci[1]
