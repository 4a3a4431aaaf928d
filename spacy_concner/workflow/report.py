"""Evaluation reports: `evaluation.json`, the markdown tables, the chart and the displaCy error pages.

The markdown is written with wasabi's :class:`~wasabi.MarkdownRenderer` (spaCy's own).
"""
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from wasabi import MarkdownRenderer

from ..fileio import atomic_output, write_json, write_text_atomic
from .evaluate import MEAN, Evaluation

JSON_NAME, MARKDOWN_NAME, CHART_NAME = "evaluation.json", "evaluation.md", "evaluation.png"


def _row_names(ev: Evaluation) -> List[Tuple[str, bool]]:
    rows = [(s, False) for s in ev.systems]
    if ev.reported:
        rows += [(s, True) for s in ev.reported.scores]
    return rows


def _pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def markdown_table(ev: Evaluation, metric: str = "seqeval") -> str:
    """Systems x languages (+ mean) F1 table in percent; the best measured value per column in bold."""
    columns = ev.languages + [MEAN]
    best = {
        col: max((ev.mean_f1(s, metric) if col == MEAN else ev.f1(s, col, metric)) or 0.0 for s in ev.systems)
        for col in columns
    }
    md = MarkdownRenderer()
    rows = []
    for system, is_reported in _row_names(ev):
        if is_reported and metric != "seqeval":
            continue
        cells = []
        for col in columns:
            value = ev.mean_f1(system, metric, is_reported) if col == MEAN else ev.f1(system, col, metric, is_reported)
            cell = _pct(value)
            if not is_reported and value is not None and value == best[col] and len(ev.systems) > 1:
                cell = md.bold(cell)
            cells.append(cell)
        rows.append([f"{system} (reported: {ev.reported.label})" if is_reported else system, *cells])
    return md.table(rows, ["system", *columns], aligns=["l"] + ["r"] * len(columns))


def per_type_table(ev: Evaluation, lang: str) -> str:
    labels = sorted({t for s in ev.systems for t in ev.results[s][lang].seqeval.per_type})
    rows = []
    for system in ev.systems:
        res = ev.results[system][lang].seqeval
        cells = [_pct(res.per_type[t]["f1"]) if t in res.per_type else "–" for t in labels]
        rows.append([system, *cells, _pct(res.f1)])
    return MarkdownRenderer().table(rows, ["system", *labels, "all"], aligns=["l"] + ["r"] * (len(labels) + 1))


def metric_agreement(ev: Evaluation) -> str:
    """One line: do strict seqeval and spaCy's scorer give the default-mode numbers (and where not)?"""
    differ = []
    for system in ev.systems:
        for lang in ev.languages:
            base = ev.f1(system, lang)
            for metric, name in (("seqeval_strict", "strict seqeval"), ("spacy", "spaCy's scorer")):
                other = ev.f1(system, lang, metric)
                if abs(other - base) > 5e-4:
                    differ.append(f"{name} {_pct(other)} for {system} on {lang}")
    if not differ:
        return ("Strict seqeval (IOB2) and spaCy's scorer give the same F1 on every cell: predictions are "
                "valid IOB2 span sets on the gold tokens, so the three metrics count the same entities. "
                "All three are in evaluation.json.")
    return "Where strict seqeval or spaCy's scorer differ from the table: " + "; ".join(differ) + "."


def markdown_report(ev: Evaluation) -> str:
    encoder = f" Encoder: {ev.encoder}." if ev.encoder else ""
    sizes = ", ".join(
        f"{lang} {ev.results[ev.systems[0]][lang].sentences} sentences / "
        f"{ev.results[ev.systems[0]][lang].gold_entities} entities" for lang in ev.languages
    )
    md = MarkdownRenderer()
    md.add(md.title(1, "Evaluation"))
    md.add(f"Entity-level micro F1 (%) on the target test sets ({sizes}).{encoder}")
    md.add(md.title(2, "seqeval, IOB2, default mode (the number papers report)"))
    md.add(markdown_table(ev, "seqeval"))
    md.add(metric_agreement(ev))
    if ev.reported:
        md.add(f"Rows marked {md.italic('reported')} are published numbers ({ev.reported.label}), not measured here.")
    for lang in ev.languages:
        md.add(md.title(2, f"{lang}: F1 per entity type (seqeval default)"))
        md.add(per_type_table(ev, lang))
    return md.text + "\n"


def to_json(ev: Evaluation) -> Dict:
    data = asdict(ev)
    data["mean_f1"] = {metric: {s: ev.mean_f1(s, metric) for s in ev.systems}
                       for metric in ("seqeval", "seqeval_strict", "spacy")}
    if ev.reported:
        data["mean_f1"]["reported"] = {s: ev.mean_f1(s, reported=True) for s in ev.reported.scores}
    return data


@dataclass
class Bars:
    """One series of a grouped bar chart: a value (0-1, None = not available) per group."""

    label: str
    values: Sequence[Optional[float]]
    colour: str
    errors: Optional[Sequence[float]] = None  # one standard deviation per group, drawn as error bars
    reported: bool = False  # a published number, not measured: faded and hatched


def bar_chart(path: Union[str, Path], groups: Sequence[str], series: Sequence[Bars], title: str,
              ylabel: str = "entity F1 (%)") -> Path:
    """Grouped bars, one group per column and one bar per series, in percent: the package's one chart writer
    (``evaluation.png`` here, ``benchmarks/accuracy.png`` in the benchmark). Written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n, crowded = len(series), len(series) > 3
    width = 0.8 / n
    fig = Figure(figsize=(max(6.0, 1.1 + len(groups) * (0.5 + 0.45 * n)), 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, bars in enumerate(series):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(groups))]
        heights = [100 * v if v is not None else 0.0 for v in bars.values]
        errs = [100 * e for e in bars.errors] if bars.errors else None
        drawn = ax.bar(xs, heights, width * 0.92, yerr=errs, capsize=2, label=bars.label, color=bars.colour,
                       edgecolor=bars.colour, alpha=0.45 if bars.reported else 0.95,
                       hatch="//" if bars.reported else None)
        ax.bar_label(drawn, labels=[_pct(v) if v is not None else "n/a" for v in bars.values],
                     fontsize=7 if crowded else 8, padding=2, rotation=90 if crowded else 0)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=10 if len(groups) < 8 else 8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 112 if crowded else 105)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(title, fontsize=10 if len(title) < 120 else 8.5)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(n, 4), frameon=False)
    fig.tight_layout()
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return path


def write_chart(ev: Evaluation, path: Union[str, Path], metric: str = "seqeval") -> Path:
    """``evaluation.png``: one group per language (+ mean), one bar per system; reported rows hatched."""
    rows = _row_names(ev) if metric == "seqeval" else [(s, False) for s in ev.systems]
    groups = ev.languages + ([MEAN] if len(ev.languages) > 1 else [])
    palette: Dict[str, str] = {}  # a reported row named like a measured system shares its colour
    for system, _ in rows:
        palette.setdefault(system, f"C{len(palette) % 10}")
    series = [
        Bars(label=f"{system} (reported: {ev.reported.label})" if is_reported else system,
             values=[ev.mean_f1(system, metric, is_reported) if g == MEAN else ev.f1(system, g, metric, is_reported)
                     for g in groups],
             colour=palette[system], reported=is_reported)
        for system, is_reported in rows
    ]
    names = {"seqeval": "seqeval IOB2", "seqeval_strict": "seqeval IOB2 strict", "spacy": "spaCy scorer"}
    title = f"Cross-lingual NER: entity F1 per target language ({names[metric]})"
    if ev.encoder:
        title += f"\nencoder: {ev.encoder}"
    return bar_chart(path, groups, series, title)


def write_reports(ev: Evaluation, output_dir: Union[str, Path]) -> Dict[str, Path]:
    """Write ``evaluation.json``, ``evaluation.md`` and ``evaluation.png`` into ``output_dir``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": output_dir / JSON_NAME, "markdown": output_dir / MARKDOWN_NAME, "chart": output_dir / CHART_NAME}
    write_json(paths["json"], to_json(ev))
    write_text_atomic(paths["markdown"], markdown_report(ev))
    write_chart(ev, paths["chart"])
    if getattr(ev, "predictions", None):
        from .error_pages import write_error_pages

        for path in write_error_pages(ev.gold, ev.predictions, output_dir):
            paths[path.stem] = path
    return paths
