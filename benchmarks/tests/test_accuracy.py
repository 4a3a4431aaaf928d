"""The accuracy benchmark runs the workflow: it sets data and seed vars only, samples fixed subsets, and its
statistics and target follow the rules written in benchmarks/EXPERIMENTS.md."""
import math
from pathlib import Path

import pytest
import srsly

from benchmarks import accuracy
from benchmarks.accuracy_report import CONTROL, CONTROL_COMMAND, SYSTEMS, build_report
from benchmarks.stats import convergence, paired, t_interval

ROOT = Path(__file__).resolve().parents[2]
PROJECT_VARS = srsly.read_yaml(ROOT / "project.yml")["vars"]
RECIPE = {"passes", "distill_passes", "evals", "learn_rate", "batch_words", "bucket", "lambda_label", "lambda_trans",
          "tau", "freeze_embeddings", "autocast", "transformer", "student_transformer", "n_source", "train_settings"}


def test_the_benchmark_sets_no_training_setting():
    """What it must show: a test that fails if the benchmark's training settings and project.yml's differ."""
    assert accuracy.DATA_VARS <= set(PROJECT_VARS) and accuracy.CONTROL_VARS <= set(PROJECT_VARS)
    assert not accuracy.DATA_VARS & RECIPE
    # the control alone sets one recipe var: where it starts (the student's start, so only distillation differs)
    assert accuracy.CONTROL_VARS & RECIPE == {"transformer"}
    for name, preset in accuracy.DATASETS.items():
        variables = accuracy.project_vars(preset, Path("/d"), Path("/s"), seed=3, gpu_id=-1)
        assert set(variables) <= accuracy.DATA_VARS, name
        assert variables["student_seed"] - variables["seed"] == PROJECT_VARS["student_seed"] - PROJECT_VARS["seed"]


TRAINED = {"train-src": "src", "train-src-trans": "src_trans", "train-concner": "concner", "distill": "distill"}


def fake_workflow(monkeypatch, calls, delay=0.0):
    """run_command and evaluate_system that write what the real ones leave for the runner (budget, dev curve,
    evaluation), and log each call."""
    import time

    def run_command(run_dir, command, variables, threads):
        calls.append((run_dir.name, command, dict(variables)))
        if command in TRAINED:
            folder = run_dir / "training" / TRAINED[command]
            folder.mkdir(parents=True, exist_ok=True)
            if command == "distill":
                (run_dir / "training" / "concner_encoder").mkdir(exist_ok=True)
                time.sleep(delay)  # the student plans its steps, then trains
            srsly.write_json(folder / "budget.partial", {"steps": 300 if command == "distill" else 700, "passes": 30})
            (folder / "budget.partial").replace(folder / "budget.json")  # as the workflow's train writes it: whole
            (folder / "train_log.jsonl").write_text('{"step": 700, "score": 0.7}\n')
            time.sleep(delay * (4 if command == "distill" else 1))  # the student trains longest
        return 1.0

    def evaluate_system(unit_dir, system, langs, threads):
        calls.append((unit_dir.name, f"evaluate {system}", {}))
        out = unit_dir / accuracy.evaluate_args(unit_dir, system, langs)[-1]
        out.mkdir(parents=True, exist_ok=True)
        srsly.write_json(out / "evaluation.json", {"results": {system: {}}})
        (out / "evaluation.md").write_text(system)

    monkeypatch.setattr(accuracy, "run_command", run_command)
    monkeypatch.setattr(accuracy, "evaluate_system", evaluate_system)


def runner_args(tmp_path, *extra):
    args = accuracy.parser().parse_args(["--runs", str(tmp_path / "runs"), "--seeds", "2", *extra])
    args.data, args.runs, args.keep = Path("/data"), tmp_path / "runs", tmp_path / "keep"
    return args


def test_the_benchmark_runs_the_workflow_commands(tmp_path, monkeypatch):
    """Every training command of `all`, in a copy of the project, with the seed's vars, each system evaluated by the
    workflow's scorer; then the control: the teacher's command from the student's start (the teacher's encoder),
    with the student's seed and steps. Each unit's evidence is kept, and a kept unit never runs again."""
    calls = []
    fake_workflow(monkeypatch, calls)
    accuracy.run_seed(runner_args(tmp_path), 2)
    workflow = srsly.read_yaml(ROOT / "project.yml")["workflows"]["all"]
    ran = [c for d, c, _ in calls if d == "seed2" and not c.startswith("evaluate")]
    assert list(dict.fromkeys(ran)) == [c for c in workflow if c not in ("package", "evaluate")]
    assert [c for _, c, _ in calls if c.startswith("evaluate")] == [f"evaluate {s}" for s in accuracy.UNITS]
    control = [(c, v) for d, c, v in calls if d == "seed2-equal" and not c.startswith("evaluate")]
    seed_vars = calls[0][2]
    assert control == [("train-concner", {**seed_vars, "train_steps": 300, "seed": seed_vars["student_seed"],
                                          "transformer": str(tmp_path / "runs/seed2/training/concner_encoder")})]
    assert (tmp_path / "runs/seed2/project.yml").read_text() == (ROOT / "project.yml").read_text()
    assert (tmp_path / "runs/seed2-equal/data").resolve() == (tmp_path / "runs/seed2/data").resolve()
    record = srsly.read_json(tmp_path / "keep/seed2/record.json")
    assert set(record["commands"]["train-concner"]["machine"]["packages"]) >= {"torch", "spacy", "thinc", "numpy",
                                                                               "transformers"}
    assert record["commands"][CONTROL_COMMAND]["steps"] == 300 and record["commands"]["distill"]["threads"] == 1
    for system, folder in accuracy.FOLDERS.items():
        unit = tmp_path / "keep" / ("seed2-equal" if system == CONTROL else "seed2")
        assert srsly.read_json(unit / "metrics" / folder / "evaluation.json")["results"] == {system: {}}
        assert (unit / "training" / folder / "train_log.jsonl").exists()
    # a new session: the project copies are gone, the kept evidence is not; nothing runs again
    import shutil
    shutil.rmtree(tmp_path / "runs")
    calls.clear()
    accuracy.run_seed(runner_args(tmp_path), 2)
    assert calls == []
    # one unit lost: the workflow's first commands and that unit only, its record going on in the kept one
    shutil.rmtree(tmp_path / "keep/seed2/metrics/src")
    accuracy.run_seed(runner_args(tmp_path), 2)
    assert [c for _, c, _ in calls] == [*accuracy.PREPARE, "train-src", "evaluate source-only"]
    assert CONTROL_COMMAND in srsly.read_json(tmp_path / "keep/seed2/record.json")["commands"]


def test_a_seed_with_units_from_another_machine_or_commit_stops_before_running(tmp_path, monkeypatch):
    """A seed's runs pair only on one machine, and a table names one commit: a kept unit trained elsewhere (another
    CPU under the same machine id, as happened between sessions) or at another commit (one lost with a submission
    that did not land) stops the runner before it trains anything, naming the unit and where it was made."""
    calls = []
    fake_workflow(monkeypatch, calls)
    accuracy.run_seed(runner_args(tmp_path, "--systems", "source-only"), 2)
    record_path = tmp_path / "keep/seed2/record.json"
    record = srsly.read_json(record_path)
    ran_at = record["commands"]["train-src"]
    here = {"machine": ran_at["machine"], "code": ran_at["code"]}
    cases = {"machine": ({**here, "machine": {**here["machine"], "cpu": "Another CPU"}},
                         r"source-only: machine Another CPU"),
             "commit": ({**here, "code": {"commit": "a28e490" + "0" * 33, "dirty": False}},
                        r"source-only: commit a28e4900+\)")}
    for name, (elsewhere, named) in cases.items():
        record["commands"]["train-src"] = {**ran_at, **elsewhere}
        srsly.write_json(record_path, record)
        calls.clear()
        with pytest.raises(SystemExit, match=r"seed 2: kept units were made elsewhere \(" + named):
            accuracy.run_seed(runner_args(tmp_path, "--systems", "source+translations"), 2)
        assert calls == [], name
    record["commands"]["train-src"] = ran_at  # the same machine and commit: the next unit runs
    srsly.write_json(record_path, record)
    accuracy.run_seed(runner_args(tmp_path, "--systems", "source+translations"), 2)
    assert "train-src-trans" in [c for _, c, _ in calls]


def test_two_lanes_run_the_control_beside_the_student(tmp_path, monkeypatch):
    """--lanes 2: baselines then control in one process, teacher then student in the other; the control starts
    once distill has planned the student's steps, without running distill a second time."""
    calls = []
    fake_workflow(monkeypatch, calls, delay=0.3)
    real_sleep = accuracy.time.sleep
    monkeypatch.setattr(accuracy.time, "sleep", lambda s: real_sleep(min(s, 0.3)))  # the runner polls every 20 s
    accuracy.run_seed(runner_args(tmp_path, "--lanes", "2"), 2)
    names = [(d, c) for d, c, _ in calls]
    assert names.count(("seed2", "distill")) == 1 and names.count(("seed2-equal", "train-concner")) == 1
    assert names.index(("seed2-equal", "train-concner")) > names.index(("seed2", "distill"))
    assert all(accuracy.kept(tmp_path / "keep/seed2", s) for s in accuracy.UNITS)


def test_each_system_is_scored_as_the_workflows_evaluate_command_scores_it(tmp_path):
    """The runner scores one system at a time with the evaluate command's own scorer and arguments."""
    import shutil
    shutil.copy2(ROOT / "project.yml", tmp_path / "project.yml")
    project = srsly.read_yaml(ROOT / "project.yml")
    script = next(c for c in project["commands"] if c["name"] == "evaluate")["script"][0]
    for system in SYSTEMS:
        cmd = accuracy.evaluate_args(tmp_path, system, ["de", "bg"])
        assert cmd[1:4] == ["-m", "spacy_concner", "evaluate"] and "python -m spacy_concner evaluate" in script
        assert f" {cmd[4]} " in f" {script} "  # NAME=training/FOLDER/model-best, as the workflow names it
        options = dict(zip(cmd[5::2], cmd[6::2]))
        assert options["--langs"] == "de bg" and '--langs "${vars.target_langs}"' in script
        assert f'--test "{options["--test"]}"' in script
        assert options["--encoder-from"] == project["vars"]["transformer"] and "--encoder-from ${vars.transformer}" in script


def test_subsets_are_fixed_verbatim_samples(tmp_path):
    blocks = [f"w{i}\tO\nx{i}\tB-PER" for i in range(50)]
    src = tmp_path / "in.txt"
    src.write_text("-DOCSTART-\tO\n\n" + "\n\n".join(blocks) + "\n", encoding="utf-8")
    assert accuracy.write_subset(src, tmp_path / "a.txt", 10, seed=0) == 10
    accuracy.write_subset(src, tmp_path / "b.txt", 10, seed=0)
    kept = accuracy.read_blocks(tmp_path / "a.txt")
    assert kept == accuracy.read_blocks(tmp_path / "b.txt")  # the same seed, the same subset
    assert set(kept) <= set(blocks) and kept == sorted(kept, key=blocks.index)  # verbatim, file order
    assert accuracy.write_subset(src, tmp_path / "c.txt", 0, seed=0) == 50  # 0: all, DOCSTART is no sentence


def test_convergence_flags_a_run_still_rising():
    curve = [(0, 5.0), (100, 60.0), (200, 70.0), (300, 71.0), (400, 72.0)]
    c = convergence(curve, 400)
    assert (c["selected_step"], c["dev_f1"], c["last_quarter_gain"], c["still_rising"]) == (400, 72.0, 1.0, True)
    flat = convergence([(0, 5.0), (100, 70.0), (200, 71.0), (300, 71.0), (400, 70.5)], 400)
    assert (flat["selected_step"], flat["still_rising"]) == (200, False)  # the first best, as model-best


def test_paired_interval_by_hand():
    stat = paired({0: 3.0, 1: 4.0, 2: 5.0}, {0: 1.0, 1: 1.0, 2: 1.0})
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert stat["mean"] == pytest.approx(3.0) and stat["ci95"] == pytest.approx([3 - half, 3 + half], rel=1e-5)
    assert stat["beats"] is True
    assert paired({0: 1.0}, {0: 0.0})["ci95"] is None and t_interval([1.0]) is None


def _rows(gains):
    """Runs of 3 seeds: baselines 0.60/0.62, teacher 0.63, control 0.63, student 0.62 + gain per seed."""
    rows = []
    for seed, gain in enumerate(gains):
        for system, f1 in (("source-only", 0.60), ("source+translations", 0.62), ("concner", 0.63),
                           (CONTROL, 0.63), ("concner+distill", 0.62 + gain)):
            rows.append({"system": system, "seed": seed, "f1": {"de": f1, "bg": f1}, "encoder": "e",
                         "dev_en": {"still_rising": False}, "recorded": {"code": {"commit": "abc"},
                                                                          "machine": {"cpu": "x"}}})
    return rows


def test_the_report_decides_the_target_by_the_paired_interval():
    assert set(SYSTEMS) == {"source-only", "source+translations", "concner", "concner+distill"}
    met = build_report("t", ["de", "bg"], ["de", "bg"], _rows([0.04, 0.045, 0.05]), "cmd")
    assert met["better_baseline"] == "source+translations"
    assert met["table"]["concner+distill"]["de/bg mean"]["mean"] == pytest.approx(66.5)
    assert met["target"]["met"] is True and met["target"]["focus_mean_gain"] == pytest.approx(4.5)
    small = build_report("t", ["de", "bg"], ["de", "bg"], _rows([0.02, 0.025, 0.03]), "cmd")
    assert small["target"]["met"] is False  # +2.5 < +3
    noisy = build_report("t", ["de", "bg"], ["de", "bg"], _rows([0.10, -0.03, 0.04]), "cmd")
    assert noisy["target"]["met"] is False  # +3.7 on average, but the interval reaches below 0
    assert build_report("t", ["de"], ["de"], _rows([0.05]), "cmd")["target"]["met"] is None  # one seed


def test_the_markdown_report_shows_table_comparisons_and_target():
    from benchmarks.accuracy_report import render_markdown

    text = render_markdown(build_report("WikiAnn", ["de", "bg"], ["de", "bg"], _rows([0.04, 0.045, 0.05]), "cmd"))
    assert "| concner+distill | 66.5 ± 0.5 | 66.5 ± 0.5 | 66.5 ± 0.5 |" in text
    assert "| concner+distill − source+translations | +4.5 [" in text
    assert "**met**" in text and "no longer budget tried yet (the rule gives them one): none." in text
    assert "each seed's runs on one machine" in text
    assert f"{CONTROL}: the teacher's encoder trained as many more steps as the student gets" in text
    # the summary README copies: the focus mean per system and its paired gain over the better baseline
    assert "| source+translations (the better baseline) | 62.0 ± 0.0 |  |" in text
    assert "| concner | 63.0 ± 0.0 | +1.0 [+1.0, +1.0] |" in text
    assert f"| {CONTROL} | 63.0 ± 0.0 | +1.0 [+1.0, +1.0] |" in text
    assert "| concner+distill | 66.5 ± 0.5 | +4.5 [+3.3, +5.7] |" in text
    rows = _rows([0.04, 0.045, 0.05])
    rows[0]["recorded"] = {"code": {"commit": "abc"}, "machine": {"cpu": "x", "machine_id": "other"}}
    split = build_report("WikiAnn", ["de", "bg"], ["de", "bg"], rows, "cmd")
    assert split["machines_per_seed"][0] == ["x", "x / other"] and split["machines_per_seed"][1] == ["x"]
    assert "**runs of one seed on different machines** (seed 0: x, x / other)" in render_markdown(split)


def test_runs_refuse_software_other_than_the_pinned(tmp_path):
    from importlib.metadata import version

    from benchmarks.record import check_pins, pinned

    assert pinned(ROOT / "constraints.txt")["torch"] == "2.13.0"
    good = tmp_path / "good.txt"
    good.write_text(f"spacy=={version('spacy')}  # comment\n", encoding="utf-8")
    check_pins(good)
    bad = tmp_path / "bad.txt"
    bad.write_text("spacy==0.0.1\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="spacy"):
        check_pins(bad)


def test_the_report_reads_what_the_workflow_and_the_runner_wrote(tmp_path):
    """seed_runs/write_report on the files of a finished seed: each row gets its own budget, dev curve and the
    record of the command that trained it (the control's included)."""
    from benchmarks.accuracy_report import write_report

    seed_dir, control_dir = tmp_path / "seed0", tmp_path / "seed0-equal"
    record = {"seed": 0, "commands": {}}

    def system(folder, command, name, f1, steps, passes=30):
        folder.mkdir(parents=True)
        srsly.write_json(folder / "budget.json", {"steps": steps, "passes": passes})
        (folder / "train_log.jsonl").write_text("\n".join(
            f'{{"step": {s}, "scores": {{"ents_f": {v}}}, "score": {v / 100}}}' for s, v in ((0, 5.0), (steps, 70.0))))
        record["commands"][command] = {"code": {"commit": command}, "machine": {"cpu": "x"}}
        return name, {"de": {"seqeval": {"f1": f1}, "seqeval_strict": {"f1": f1}}}

    units = [(seed_dir, d, c, s, 0.6, 10 * (i + 1)) for i, (s, (c, d)) in enumerate(SYSTEMS.items())]
    for unit, d, c, s, f1, steps in [*units, (control_dir, "concner", CONTROL_COMMAND, CONTROL, 0.5, 99)]:
        name, by_lang = system(unit / "training" / d, c, s, f1, steps)
        (unit / "metrics" / d).mkdir(parents=True)
        srsly.write_json(unit / "metrics" / d / "evaluation.json", {"results": {name: by_lang}, "encoder": "e"})
    srsly.write_json(seed_dir / "record.json", record)
    # a budget arm that retrained source-only at 40 passes (and was stopped before its teacher finished)
    arm = tmp_path / "arm"
    record = {"seed": 0, "commands": {}}
    system(arm / "seed0" / "training" / "src", "train-src", "source-only", 0.0, 20, passes=40)
    (arm / "seed0" / "training" / "concner").mkdir(parents=True)
    srsly.write_json(arm / "seed0" / "record.json", record)
    # the same retraining on other hardware answers nothing here: its run is not the table's run
    elsewhere = tmp_path / "arm-elsewhere"
    record = {"seed": 0, "commands": {}}
    system(elsewhere / "seed0" / "training" / "src", "train-src", "source-only", 0.0, 20, passes=40)
    record["commands"]["train-src"]["machine"] = {"cpu": "other"}
    srsly.write_json(elsewhere / "seed0" / "record.json", record)
    preset = {**accuracy.DATASETS["wikiann"], "langs": ["de"], "focus": ["de"]}
    write_report("wikiann", preset, tmp_path, tmp_path / "out", "cmd", [arm, elsewhere])
    report = srsly.read_json(tmp_path / "out" / "accuracy.json")
    rows = {r["system"]: r for r in report["runs"]}
    assert {s: r["recorded"]["code"]["commit"] for s, r in rows.items()} == {
        **{s: c for s, (c, _) in SYSTEMS.items()}, CONTROL: CONTROL_COMMAND}
    assert rows[CONTROL]["budget"]["steps"] == 99 and rows["concner"]["dev_en"]["selected_step"] == 30
    # every run here rises 5 -> 70 in its last quarter; only source-only has a longer budget tried, by the arm
    rising = {r["system"]: r for r in report["still_rising"]}
    assert set(rising) == {*SYSTEMS, CONTROL}
    assert rising["source-only"]["longer"] == [{"passes": 40, "dev_f1": 70.0, "still_rising": True, "arm": str(arm)}]
    assert all(not r["longer"] for s, r in rising.items() if s != "source-only")
    text = (tmp_path / "out" / "accuracy.md").read_text(encoding="utf-8")
    assert "no longer budget tried yet (the rule gives them one): source+translations seed 0, concner seed 0" in text
    assert "source-only seed 0: 70.00 at 30 passes, 70.00 at 40." in text
