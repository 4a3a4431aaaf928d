"""Option values of the command line that hold several things: space-separated lists, ``LANG=PATH``
and ``NAME=PATH`` items, ``{lang}`` patterns.

This syntax exists for the CLI (and for project.yml, which passes whole variables as one value);
library functions take plain lists and ``(lang, path)`` pairs.
"""
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import typer

from .errors import InputError


def split_words(values: Sequence[str]) -> List[str]:
    """Repeatable options may also hold several space-separated values (as project vars do)."""
    return [w for v in values for w in v.split()]


def expand_langs(values: Sequence[str], langs: Optional[str], what: str) -> List[str]:
    """``{lang}=data/{lang}/test.spacy`` with ``--langs "de es"`` -> one ``LANG=PATH`` per language."""
    out: List[str] = []
    for value in split_words(values):
        if "{lang}" in value:
            if not langs:
                raise typer.BadParameter(f"{what} {value!r} uses {{lang}}: also pass --langs \"de es ...\"")
            out.extend(value.replace("{lang}", lang) for lang in langs.split())
        else:
            out.append(value)
    return out


def parse_lang_pairs(values: Sequence[str], what: str) -> List[Tuple[str, str]]:
    """``["de=path", ...]`` -> ``[("de", "path"), ...]``; a malformed item or a language given twice
    is an :class:`InputError`."""
    pairs: List[Tuple[str, str]] = []
    for value in values:
        lang, sep, path = value.partition("=")
        if not sep or not lang or not path:
            raise InputError(f"{what} must be given as LANG=PATH (e.g. de=corpus/de/test.iob), got {value!r}")
        lang, path = lang.strip(), path.strip()
        given = dict(pairs)
        if lang in given:
            raise InputError(
                f"{what}: language {lang!r} given twice ({given[lang]} and {path}); pass one file per language."
            )
        pairs.append((lang, path))
    return pairs


def parse_named(values: Sequence[str], what: str,
                default_name: Optional[Callable[[str], str]] = None) -> List[Tuple[str, str]]:
    """``NAME=VALUE`` items to pairs; without ``=`` the name is ``default_name(value)`` if given."""
    pairs = []
    for value in values:
        name, sep, rest = value.partition("=")
        if sep and name and rest:
            pairs.append((name.strip(), rest.strip()))
        elif default_name is not None and not sep:
            pairs.append((default_name(value), value))
        else:
            raise InputError(f"{what} must look like NAME=PATH, got {value!r}")
    return pairs


def default_system_name(spec: str) -> str:
    """``training/concner/model-best`` -> ``concner``; an installed package keeps its name."""
    path = Path(spec)
    return path.parent.name if path.name in ("model-best", "model-last") and path.parent.name else path.name


def ray_options(ray: Optional[str], workers: int, num_gpus: float = 0.0):
    """None (one process) unless ``--ray ADDRESS`` or ``--workers N`` > 1 (a local Ray) asks for Ray."""
    if ray is None and workers <= 1 and not num_gpus:
        return None
    if workers < 1:
        raise InputError(f"--workers must be at least 1, not {workers}")
    from .workflow.ray_runner import RayOptions

    return RayOptions(address=ray, workers=workers, num_gpus=num_gpus)


#: ``--precision`` / ``--quantize`` values; "model" keeps what the pipeline's config says
PRECISIONS = ("model", "float32", "bfloat16", "float16", "auto")
QUANTIZATIONS = ("model", "none", "int8")
PRECISION_HELP = ("Encoder precision at inference: model (the pipeline's own setting), float32, bfloat16, "
                  "float16, or auto (bfloat16 where the hardware computes it)")
QUANTIZE_HELP = "int8: the encoder's Linear layers in int8 (CPU); none: float; model: the pipeline's own setting"


def inference_settings(precision: str, quantize: str) -> dict:
    """The ``--precision`` / ``--quantize`` choices as inference settings (spacy_concner/inference.py)."""
    settings: dict = {}
    if precision != "model":
        settings["inference_dtype"] = precision
    if quantize != "model":
        settings["quantize"] = None if quantize == "none" else quantize
    return settings
