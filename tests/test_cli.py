"""The command line's contract: bad input is one line and exit status 1, a bug keeps its traceback,
``--verbose`` shows the traceback of bad input too; options are consistent and project.yml's
command lines still parse."""
import shlex
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from spacy_concner.cli import app
from spacy_concner.errors import MissingFile

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()
COMMANDS = ["prepare", "translate", "encoder", "annotate", "export-encoder", "evaluate", "expand-encoder",
            "package-meta"]


def _numpy_bug(*args, **kwargs):
    return numpy.zeros(6).reshape(4)  # ValueError: cannot reshape array of size 6 into shape (4,)


def _package_meta(tmp_path, evaluation="nope.json"):
    return ["package-meta", str(tmp_path / evaluation), str(tmp_path / "meta.json"), "--system", "x", "--version", "1"]


def _run(argv, patch_bug=False):
    """The CLI in a fresh interpreter, as a user runs it: what it prints, tracebacks included."""
    code = ("import numpy, sys\n"
            "import spacy_concner.workflow.package_meta as pm\n"
            + ("pm.write_meta = lambda *a, **k: numpy.zeros(6).reshape(4)\n" if patch_bug else "")
            + "from spacy_concner.cli import app\n"
            "app(sys.argv[1:], prog_name='python -m spacy_concner')\n")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300)


def test_bad_input_is_one_line_and_exit_1(tmp_path):
    res = RUNNER.invoke(app, _package_meta(tmp_path))
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines == [f"\u2718 Evaluation file not found: {tmp_path / 'nope.json'}. Check the path."]


def test_a_bug_is_not_reported_as_bad_input(tmp_path, monkeypatch):
    """A plain ValueError (here from numpy) escapes the command with its traceback, not as one line."""
    monkeypatch.setattr("spacy_concner.workflow.package_meta.write_meta", _numpy_bug)
    (tmp_path / "evaluation.json").write_text("{}", encoding="utf-8")
    res = RUNNER.invoke(app, _package_meta(tmp_path, "evaluation.json"))
    assert res.exit_code != 0 and type(res.exception) is ValueError and "cannot reshape" in str(res.exception)
    assert "\u2718" not in res.output


def test_a_bug_prints_its_traceback(tmp_path):
    (tmp_path / "evaluation.json").write_text("{}", encoding="utf-8")
    proc = _run(_package_meta(tmp_path, "evaluation.json"), patch_bug=True)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "ValueError" in proc.stderr and "cannot reshape" in proc.stderr
    assert "\u2718" not in proc.stdout


def test_verbose_shows_the_traceback_of_bad_input(tmp_path):
    res = RUNNER.invoke(app, ["--verbose"] + _package_meta(tmp_path))
    assert isinstance(res.exception, MissingFile) and "nope.json" in str(res.exception)
    res = RUNNER.invoke(app, _package_meta(tmp_path))  # the flag does not stick to the next invocation
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    proc = _run(["-V"] + _package_meta(tmp_path))
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "MissingFile" in proc.stderr and "require_file" in proc.stderr
    proc = _run(_package_meta(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert [line for line in proc.stdout.splitlines() if line.strip()] == [
        f"\u2718 Evaluation file not found: {tmp_path / 'nope.json'}. Check the path."]


def _options(name):
    return {opt: param.name for param in get_command(app).commands[name].params for opt in param.opts}


def test_short_flags_are_consistent():
    short = {name: {o: p for o, p in _options(name).items() if len(o) == 2 and o[0] == "-"} for name in COMMANDS}
    assert short["translate"] == {"-t": "target"}  # -o is not --option here
    assert short["evaluate"] == {"-o": "output_dir", "-g": "gpu_id"}
    assert short["annotate"] == {"-g": "gpu_id"}
    uses = {}
    for name in COMMANDS:
        for flag, param in short[name].items():
            uses.setdefault(flag, set()).add(param)
    assert all(len(params) == 1 for params in uses.values()), uses  # one meaning per short flag


@pytest.mark.parametrize("name", COMMANDS)
def test_help_lists_every_option_with_help(name):
    res = RUNNER.invoke(app, [name, "--help"])
    assert res.exit_code == 0, res.output
    command = get_command(app).commands[name]
    assert command.help and command.help.splitlines()[0].endswith(".")
    assert all(param.help for param in command.params if param.name != "help"), name


@pytest.mark.parametrize("name, option, choices", [
    ("translate", "--markers", "<brackets|html>"), ("translate", "--identical", "<keep|drop>"),
    ("encoder", "--dtype", "<float32|float16>"), ("expand-encoder", "--vocabulary", "<full|pruned>")])
def test_choices_are_checked_and_shown_in_help(name, option, choices):
    assert f"{option} {choices}" in RUNNER.invoke(app, [name, "--help"]).output
    res = RUNNER.invoke(app, [name, "a", "b", "c", option, "bogus"] if name == "expand-encoder"
                        else [name, "a", "b", "-t", "de:lexicon", option, "bogus"] if name == "translate"
                        else [name, "a", option, "bogus"])
    assert res.exit_code == 2 and "'bogus' is not one of" in res.output, res.output


def test_gpu_id_goes_to_spacys_setup_gpu(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("spacy.cli._util.setup_gpu", calls.append)
    res = RUNNER.invoke(app, ["evaluate", str(tmp_path / "model"), "--test", f"de={tmp_path / 'nope.spacy'}", "-g", "0"])
    assert calls == [0] and res.exit_code == 1 and "nope.spacy" in res.output
    RUNNER.invoke(app, ["evaluate", str(tmp_path / "model"), "--test", f"de={tmp_path / 'nope.spacy'}"])
    assert calls == [0, -1]


def test_every_command_line_of_project_yml_parses():
    """project.yml calls the CLI: its commands and long options (with the project's vars) still parse."""
    from weasel.util import load_project_config

    config = load_project_config(ROOT)
    group = get_command(app)
    lines = [line for cmd in config["commands"] for line in cmd["script"] if "-m spacy_concner" in line]
    assert len(lines) >= 8
    for line in lines:
        argv = shlex.split(line)[3:]
        command = group.commands[argv[0]]
        ctx = command.make_context(argv[0], argv[1:])  # raises on an unknown option or a bad choice
        assert ctx.params, line
