"""The CLI's app and its one rule for errors (spaCy keeps the same in ``spacy/cli/_util.py``).

Bad input the user can fix is an :class:`~spacy_concner.errors.InputError` from the library: the command ends
with that message on one line and exit status 1. Anything else is a bug and keeps its traceback; ``--verbose``
shows the traceback of an InputError too. The commands themselves are in :mod:`spacy_concner.cli`.
"""
import functools
from typing import Callable

import typer
from wasabi import Printer
from wasabi.util import ICONS, locale_escape

from .errors import InputError, one_line

HELP = """ConCNER cross-lingual NER for spaCy.

The workflow, in order: prepare -> translate -> encoder -> train -> annotate -> export-encoder ->
train -> evaluate -> expand-encoder -> package-meta -> (spacy package); project.yml runs it all
with `python -m spacy project run all .`.
"""

app = typer.Typer(name="spacy-concner", help=HELP, no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None, pretty_exceptions_show_locals=False)

GPU_HELP = "GPU ID or -1 for CPU"
RAY_HELP = "Run on Ray: local (start Ray here), auto (the local cluster) or ray://HOST:PORT (the ray extra)"
WORKERS_HELP = "Pipeline workers on Ray (more than 1 without --ray: a local Ray)"
# wasabi wraps pretty messages at 80 columns; an error stays on one line (one grep-able log line).
_error_line = Printer(pretty=False)
_options = {"verbose": False}


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-V", help="Show the full traceback of every error, bad input included")) -> None:
    _options["verbose"] = verbose  # the callback runs before every command: each invocation sets it afresh


def reports_input_errors(func: Callable) -> Callable:
    """Run a command; an InputError (bad input) -> one line and exit status 1, unless --verbose."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as err:
            if _options["verbose"]:
                raise
            _error_line.fail(locale_escape(f"{ICONS['fail']} {one_line(err)}"), exits=1)

    return wrapper


def command(name: str) -> Callable[[Callable], Callable]:
    """Register a CLI command whose bad input ends in one line and exit status 1."""
    return lambda func: app.command(name)(reports_input_errors(func))


def named_errors(spec: str, func: Callable, *args):
    """Call ``func``; an InputError about a loaded pipeline gets the pipeline's name in front."""
    try:
        return func(*args)
    except InputError as err:
        raise InputError(f"{spec}: {err}") from None
