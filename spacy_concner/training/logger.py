"""Training logger that shows each loss term of the concner component in its own column.

spaCy's ConsoleLogger prints one loss per pipe. The concner component also reports its terms
as ``"{pipe}:{term}"`` entries in the losses dict (``concner:ce``, ``concner:label``,
``concner:trans``, ``concner:distill``); this logger adds a column for each term the pipe
declares, and otherwise behaves like ``spacy.ConsoleLogger.v3``.
"""
import sys
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Tuple, Union

import srsly
from spacy.training.loggers import setup_table
from wasabi import Printer


def concner_console_logger(
    console_output: bool = True, output_file: Optional[Union[str, Path]] = None
) -> Callable:
    """Print a table with one column per loss term; optionally append JSON lines to a file."""

    def setup_printer(
        nlp: Any, stdout: IO = sys.stdout, stderr: IO = sys.stderr
    ) -> Tuple[Callable[[Optional[Dict[str, Any]]], None], Callable[[], None]]:
        write = lambda text: print(text, file=stdout, flush=True)  # noqa: E731
        msg = Printer(no_print=True)
        loss_keys: List[str] = []
        loss_cols: List[str] = []
        trainable = [(n, p) for n, p in nlp.pipeline if getattr(p, "is_trainable", False)]
        with_terms = [n for n, p in trainable if getattr(p, "loss_terms", ())]
        for name, proc in trainable:
            loss_keys.append(name)
            loss_cols.append(f"Loss {name}")
            for term in getattr(proc, "loss_terms", ()):
                loss_keys.append(f"{name}:{term}")
                loss_cols.append(f"{name}:{term}" if len(with_terms) > 1 else f"L_{term}")
        score_weights = nlp.config["training"]["score_weights"]
        score_cols = [col for col, value in score_weights.items() if value is not None]
        header, widths, aligns = setup_table(
            cols=["E", "#"] + loss_cols + score_cols + ["Score"],
            widths=[3, 6] + [8 for _ in loss_keys] + [6 for _ in score_cols] + [6],
            max_width=16,
        )
        stream = None
        if output_file:
            path = Path(output_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            stream = path.open("w", encoding="utf-8")
        if console_output:
            write(msg.row(header, widths=widths, spacing=2))
            write(msg.row(["-" * w for w in widths], spacing=2))

        def log_step(info: Optional[Dict[str, Any]]) -> None:
            if info is None:
                return
            losses = {k: float(info["losses"].get(k, 0.0)) for k in loss_keys}
            scores = {}
            for col in score_cols:
                score = float(info["other_scores"].get(col, 0.0) or 0.0)
                scores[col] = score if col == "speed" else score * 100
            row = (
                [info["epoch"], info["step"]]
                + [f"{v:.2f}" for v in losses.values()]
                + [f"{v:.2f}" for v in scores.values()]
                + [f"{float(info['score']):.2f}"]
            )
            if console_output:
                write(msg.row(row, widths=widths, aligns=["r"] * len(widths), spacing=2))
            if stream is not None:
                record = {"epoch": info["epoch"], "step": info["step"], "losses": losses,
                          "scores": scores, "score": float(info["score"])}
                stream.write(srsly.json_dumps(record) + "\n")
                stream.flush()

        def finalize() -> None:
            if stream is not None:
                stream.close()

        return log_step, finalize

    return setup_printer
