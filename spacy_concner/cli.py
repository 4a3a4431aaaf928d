"""Command line: ``python -m spacy_concner COMMAND`` (also ``spacy-concner COMMAND``).

Each command is a thin typer wrapper over a library function; the library never calls the CLI.
"""
import typer

app = typer.Typer(
    name="spacy-concner",
    help="ConCNER cross-lingual NER for spaCy: data, translation, distillation, evaluation.",
    no_args_is_help=True,
    add_completion=False,
)
