"""The accuracy benchmark's protocol rules (benchmarks/accuracy_protocol.py): intervals, budgets, convergence."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from accuracy_protocol import convergence, paired, steps_for  # noqa: E402


def test_paired_interval_uses_t_with_n_minus_1_dof():
    out = paired({0: 0.60, 1: 0.62, 2: 0.64}, {0: 0.50, 1: 0.50, 2: 0.50})
    assert out["diffs"] == pytest.approx([0.10, 0.12, 0.14])
    # mean 0.12, sd 0.02, t(0.975, 2) = 4.303: half-width 4.303 * 0.02 / sqrt(3) = 0.0497
    assert out["ci95"] == pytest.approx([0.12 - 0.04969, 0.12 + 0.04969], abs=1e-4)
    assert out["beats"] is True


def test_paired_no_verdict_when_interval_contains_zero_or_one_seed():
    spread = paired({0: 0.60, 1: 0.48, 2: 0.58}, {0: 0.50, 1: 0.55, 2: 0.50})
    assert spread["ci95"][0] < 0 < spread["ci95"][1] and spread["beats"] is None
    below = paired({0: 0.40, 1: 0.41, 2: 0.42}, {0: 0.50, 1: 0.50, 2: 0.50})
    assert below["beats"] is False
    single = paired({0: 0.9, 1: 0.9}, {1: 0.1})
    assert single["seeds"] == [1] and single["ci95"] is None and single["beats"] is None


def test_steps_for_counts_passes_and_evaluates_the_last_step():
    steps, every = steps_for(10, 8000, 500, 7)  # 160 steps, rounded up to a multiple of the frequency
    assert steps >= 160 and steps % every == 0 and steps // every == 7


def test_convergence_flags_a_curve_still_rising_in_the_last_quarter():
    rising = convergence([(0, 0.0), (25, 40.0), (50, 60.0), (75, 65.0), (100, 70.0)], 100)
    assert rising["still_rising"] is True and rising["selected_step"] == 100 and rising["dev_f1"] == 70.0
    flat = convergence([(0, 0.0), (25, 60.0), (50, 70.0), (75, 71.0), (100, 70.8)], 100)
    assert flat["still_rising"] is False and flat["selected_step"] == 75


def test_target_is_judged_on_seeds_where_all_three_systems_finished():
    """Baselines with 3 seeds and a student with 1: the margin comes from that one seed's pairs, not
    from means over different seed sets (which once read +3.0 where the paired margin was +2.1)."""
    from accuracy_report import target_lines

    def cmp(baseline, column, diffs):
        return {"system": "concner+distill", "baseline": baseline, "column": column,
                "seeds": sorted(diffs), "diffs": [diffs[s] for s in sorted(diffs)]}

    report = {"groups": {"mean": ["de", "bg"], "mean de/bg": ["de", "bg"]}, "languages": ["de", "bg"],
              "comparisons": [cmp("source-only", "mean de/bg", {0: 0.02}), cmp("source+translations", "mean de/bg", {0: 0.04}),
                              cmp("source-only", "de", {0: 0.05}), cmp("source+translations", "de", {0: 0.01}),
                              cmp("source-only", "bg", {0: -0.01}), cmp("source+translations", "bg", {0: 0.03})]}
    lines = target_lines(report)
    assert lines[0].startswith("- mean de/bg: concner+distill +2.0 F1 vs the better baseline (source-only)")
    assert "+1.0 F1 vs the better baseline (source+translations)" in lines[1]
    assert "-1.0 F1" in lines[2] and "seed(s) 0" in lines[2]
    report["comparisons"][1]["seeds"], report["comparisons"][1]["diffs"] = [1], [0.04]  # no common seed
    assert "no finished seed in common" in target_lines(report)[0]


def test_speed_target_needs_the_interval_on_the_right_side():
    """The speed verdict rests on the 95% interval over rounds, not on one lucky or unlucky round."""
    from speed_report import round_interval, targets_of

    assert round_interval([1.2]) is None
    low, high = round_interval([0.8, 1.25])  # geometric mean 1.0, huge spread
    assert low < 1.0 < high and abs(low * high - 1.0) < 1e-9  # symmetric on the log scale
    rows = {"ours_infer": {"median_s": 1.0, "cpu_median_s": 1.0}, "raw_infer": {"median_s": 1.1, "cpu_median_s": 1.1}}

    def verdict(ratios):
        key = "ours_infer/raw_infer/throughput"
        found = targets_of(rows, {f"{key}/wall": ratios, f"{key}/cpu": ratios})
        return [(t["met"], t["every_round"]) for t in found if t["ours"] == "ours_infer"][0]

    assert verdict([1.10, 1.12, 1.08, 1.11, 0.99, 1.09, 1.10, 1.13]) == (True, False)  # one slow round
    assert verdict([1.4, 0.8, 1.3, 0.9]) == (False, False)  # the interval reaches below 1.0
    assert verdict([1.05]) == (False, True)  # one round: no interval, no verdict


def test_report_finds_the_prepared_data_of_runs_made_on_another_machine(tmp_path):
    """Runs made elsewhere (e.g. on a GPU box) record that machine's cache path; the report looks the
    same key folder up under --cache, and keeps the recorded path when it exists."""
    from accuracy_report import prepared_folder

    cache = tmp_path / "cache"
    (cache / "wikiann-seed0-abc").mkdir(parents=True)
    moved = {"prepared": "/nonexistent/gpu-cache/wikiann-seed0-abc"}
    assert prepared_folder(moved, cache) == cache / "wikiann-seed0-abc"
    here = tmp_path / "elsewhere" / "wikiann-seed0-abc"
    here.mkdir(parents=True)
    assert prepared_folder({"prepared": str(here)}, cache) == here
    missing = {"prepared": "/nonexistent/gpu-cache/wikiann-seed1-def"}
    assert prepared_folder(missing, cache) == Path(missing["prepared"])  # not found anywhere: the error names it


def _lexicon_args(cache: Path, names=None, script=None):
    """The arguments accuracy_data's lexicon options and cache key read: de and bg lexicon targets, es apertium."""
    import argparse

    return argparse.Namespace(lexicon_names=names, target_script=script, n_source=1000, full_encoder=Path("enc"),
                              targets=["de:lexicon", "es:apertium", "bg:lexicon"], drop_identical=None,
                              dataset="wikiann", cache=cache)


def test_lexicon_names_option_reaches_lexicon_targets_only_and_keys_the_cache(tmp_path):
    """``--lexicon-names`` goes to the lexicon targets (apertium has no such option) and gets its own
    prepared-data folder; unset or 'words' keeps the folders of earlier runs."""
    from accuracy_data import lexicon_options, seed_folder

    def args(names):
        return _lexicon_args(tmp_path, names=names)

    assert lexicon_options(args("whole")) == {"de": {"names": "whole", "script": "keep"},
                                              "bg": {"names": "whole", "script": "keep"}}
    assert lexicon_options(args(None)) == lexicon_options(args("words")) == {"de": {"script": "keep"},
                                                                             "bg": {"script": "keep"}}
    shared = tmp_path / "wikiann-shared-x"
    folders = {n: seed_folder(args(n), 0, shared) for n in (None, "words", "whole", "copy")}
    assert folders[None] == folders["words"]
    assert len({folders[None], folders["whole"], folders["copy"]}) == 3


def test_target_script_option_reaches_named_lexicon_targets_and_keys_the_cache(tmp_path):
    """``--target-script``: unset means the engine's default (bg, the lexicon target with a scheme, in Cyrillic);
    ``none`` means as written everywhere and keeps the folders of runs made before that default; the resolved
    list reaches the lexicon engines (merged with --lexicon-names) and keys the prepared data; a language that is
    not a lexicon target, or 'none' beside a language, is an error."""
    from accuracy_data import lexicon_options, seed_folder, target_scripts

    def args(script, names=None):
        raw = _lexicon_args(tmp_path, names=names, script=script)
        raw.target_script = target_scripts(raw)
        return raw

    assert args(None).target_script == args(["bg"]).target_script == ["bg"]
    assert args(["none"]).target_script is None
    assert lexicon_options(args(None)) == {"de": {"script": "keep"}, "bg": {"script": "target"}}
    assert lexicon_options(args(["none"], "whole")) == {"de": {"names": "whole", "script": "keep"},
                                                        "bg": {"names": "whole", "script": "keep"}}
    for bad, message in [(["es"], "--target-script es: not a lexicon target"), (["none", "bg"], "'none' stands alone")]:
        with pytest.raises(SystemExit, match=message):
            args(bad)
    shared = tmp_path / "wikiann-shared-x"
    keep_era = _lexicon_args(tmp_path)  # how runs before the default recorded keep: target_script unset
    assert seed_folder(args(["none"]), 0, shared) == seed_folder(keep_era, 0, shared)
    assert seed_folder(args(None), 0, shared) == seed_folder(args(["bg"]), 0, shared) != seed_folder(keep_era, 0, shared)


@pytest.mark.parametrize("system,flags,expected", [
    ("concner", ["--label-o", "exclude", "--positive-by", "type"], {"include_o": False, "positive_by": "type"}),
    ("concner", [], {"include_o": True, "positive_by": "tag", "distill_temperature": 1.0}),
    ("concner+distill", ["--distill-temperature", "2.0"], {"distill_temperature": 2.0, "include_o": True}),
    # a concner-only option does not reach the student, nor the student's option the teacher
    ("concner+distill", ["--label-o", "exclude"], {"include_o": True}),
    ("concner", ["--distill-temperature", "2.0"], {"distill_temperature": 1.0}),
])
def test_loss_options_reach_the_right_systems_config(tmp_path, system, flags, expected):
    """The benchmark's loss flags become config overrides that spaCy's config system accepts and that
    set the loss of the right system only; unset flags leave the configs' values."""
    import spacy
    from accuracy import parser
    from spacy.cli._util import parse_config_overrides
    from accuracy_runs import CONFIGS, ROOT, train_command

    args = parser().parse_args(["--dataset", "wikiann", "--student-init", "encoder", *flags])
    args.langs, args.targets = ["de"], ["de:lexicon"]
    plan = {"steps": 10, "eval_frequency": 5, "warmup": 1, "seed": 0}
    cmd = train_command(args, system, 0, tmp_path, tmp_path, tmp_path, tmp_path / "out", plan)
    assert cmd[3:6] == ["train", str(ROOT / CONFIGS[system]), "--output"]
    rest = cmd[7:]
    del rest[rest.index("--gpu-id"):rest.index("--gpu-id") + 2]  # spacy train's own option, not an override
    overrides = parse_config_overrides(rest)  # as `spacy train` reads them
    loss_overrides = {k: v for k, v in overrides.items() if k.startswith("components.concner.loss.")}
    config = spacy.util.load_config(ROOT / CONFIGS[system], overrides=loss_overrides, interpolate=False)
    loss = config["components"]["concner"]["loss"]
    for key, value in expected.items():
        assert loss[key] == value, (key, loss_overrides)


def test_restored_runs_give_the_report_the_rows_they_were_restored_from(tmp_path):
    """A lost runs folder restored from a committed accuracy.json: the report's rows come back unchanged,
    the result says where it came from, and an existing result.json is never overwritten."""
    from accuracy_data import read_json, write_json
    from accuracy_protocol import convergence
    from accuracy_report import run_rows
    from restore_runs import main as restore

    settings = {"dataset": "wikiann", "epochs": 10.0}
    result = {"system": "concner", "seed": 1, "settings": settings, "code": {"commit": "abc", "dirty": False},
              "plan": {"seed": 1, "steps": 100, "epochs": 10.0, "train_words": 8000},
              "train_seconds": 10.0, "eval_seconds": 2.0,
              "dev_en": convergence([(0, 5.0), (50, 60.0), (100, 70.0)], 100),
              "f1": {"de": 0.6}, "f1_strict": {"de": 0.58}, "evaluation": {"results": {}},
              "machine": {"platform": "Linux-x", "cpu": "AMD EPYC", "torch": "2.13.0"}}
    src = {"system": "source-only", "seed": 1, "settings": settings, "code": {"commit": "abc", "dirty": False},
           "plan": {"seed": 1, "steps": 80}, "train_seconds": 1.0, "eval_seconds": 1.0, "dev_en": {},
           "f1": {"de": 0.5}, "f1_strict": {"de": 0.5}}
    report = tmp_path / "accuracy.json"
    info = {"prepared": "/cache/wikiann-seed1-abc", "engines": {"de": "lexicon"}}
    write_json(report, {"settings": settings, "run_code": ["abc"], "runs": run_rows([result, src]),
                        "seeds": {"1": info}})
    runs = tmp_path / "runs"
    kept = runs / "seed1" / "src" / "result.json"
    write_json(kept, {"kept": True})
    restore([str(report), "--runs", str(runs)])
    restored = read_json(runs / "seed1" / "concner" / "result.json")
    row = run_rows([restored])[0]
    assert row.pop("restored_from") == restored["restored_from"] and row == run_rows([result])[0]
    assert restored["code"]["commit"] == "abc" and "evaluation" not in restored
    assert str(report) in restored["restored_from"]
    assert read_json(kept) == {"kept": True} and read_json(runs / "seed1" / "seed_info.json") == info
    other = {**result, "code": {"commit": "def", "dirty": False}, "system": "concner+distill"}
    write_json(report, {"settings": settings, "run_code": ["abc", "def"], "runs": run_rows([result, other]),
                        "seeds": {"1": info}})
    restore([str(report), "--runs", str(tmp_path / "own")])  # each row names its commit
    assert read_json(tmp_path / "own" / "seed1" / "distill" / "result.json")["code"]["commit"] == "def"
    old = [{k: v for k, v in row.items() if k != "commit"} for row in run_rows([result, other])]
    write_json(report, {"settings": settings, "run_code": ["abc", "def"], "runs": old, "seeds": {"1": info}})
    with pytest.raises(SystemExit, match="2 commits.*--commit"):
        restore([str(report), "--runs", str(tmp_path / "other")])
    restore([str(report), "--runs", str(tmp_path / "other"), "--systems", "concner", "--commit", "ab"])
    assert read_json(tmp_path / "other" / "seed1" / "concner" / "result.json")["code"]["commit"] == "abc"


@pytest.mark.parametrize("flags,shown", [([], None), (["--target-script", "bg"], None),
                                         (["--target-script", "none"], "--target-script none")])
def test_reproduce_command_spells_the_lexicon_script_so_it_gives_the_same_settings(flags, shown):
    """The report's reproduce command names ``--target-script`` only where it differs from the default (bg in
    Cyrillic), spelling 'as written everywhere' as ``none``; parsed again, it gives the same run settings."""
    import shlex

    from accuracy import parser, resolve, run_settings
    from accuracy_report import canonical_command

    def settings(argv):
        p = parser()
        args = resolve(p.parse_args(argv))
        args.parser = p
        return args, run_settings(args)

    args, first = settings(["--dataset", "wikiann", *flags])
    command = canonical_command(args, [0])
    assert (shown in command) if shown else "--target-script" not in command
    assert settings(shlex.split(command)[2:])[1] == first


def test_machine_record_names_the_libraries_and_cpu_a_run_trained_with():
    """Runs are bit-reproducible on one machine, not across machines: each run records where it trained."""
    import platform

    import torch
    from accuracy_protocol import machine_record

    record = machine_record()
    assert record["torch"] == torch.__version__ and record["python"] == platform.python_version()
    assert record["cpu"] and record["platform"] == platform.platform() and record["cpus"] >= 1
