"""Inference settings of a trained pipeline, changed after it is loaded or in its saved config.

The encoder's ``spacy_concner.TransformerModel.v1`` holds three settings that change how it predicts,
never what it learned (ml/transformer.py, ml/precision.py): ``sort_by_length`` (length-sorted chunks
inside a batch), ``inference_dtype`` and ``quantize``. ``tag`` sets them for one run and the
``package`` step writes the shipped defaults into the packaged pipeline's config; both through here,
so a run and a saved config never disagree on what a setting means.
"""
import inspect
from pathlib import Path
from typing import Any, Dict, List, Union

from spacy.language import Language
from spacy.util import load_config

from .errors import InputError
from .ml.precision import check_inference_levers
from .ml.transformer import configure_shim, create_transformer_model

ARCHITECTURE = "spacy_concner.TransformerModel.v1"
#: the settings and their defaults, as the architecture's signature has them
DEFAULTS: Dict[str, Any] = {name: inspect.signature(create_transformer_model).parameters[name].default
                            for name in ("sort_by_length", "inference_dtype", "quantize")}


def _settings(model_config: Dict[str, Any], levers: Dict[str, Any], where: str) -> Dict[str, Any]:
    unknown = sorted(set(levers) - set(DEFAULTS))
    if unknown:
        raise InputError(f"Unknown inference setting(s) {unknown}; the settings are {sorted(DEFAULTS)}.")
    settings = {key: model_config.get(key, default) for key, default in DEFAULTS.items()}
    settings.update(levers)
    try:
        check_inference_levers(settings["inference_dtype"], settings["quantize"])
    except ValueError as err:
        raise InputError(f"{where}: {err}") from None
    return settings


def encoder_components(config: Dict[str, Any]) -> List[str]:
    """Names of the components (in a pipeline's config) whose model is ``spacy_concner.TransformerModel.v1``."""
    return [name for name, component in config.get("components", {}).items()
            if isinstance(component.get("model"), dict) and component["model"].get("@architectures") == ARCHITECTURE]


def _require(names: List[str], where: str) -> None:
    if not names:
        raise InputError(f"{where} has no component with a {ARCHITECTURE} model; inference settings apply to "
                         "pipelines trained with spacy_concner's configs.")


def apply_inference_settings(nlp: Language, **levers: Any) -> Dict[str, Any]:
    """Set ``levers`` on a loaded pipeline's encoder(s), in the model and in ``nlp``'s config (so
    ``nlp.to_disk`` saves them); returns the settings now in force."""
    if not levers:
        return {}
    names = encoder_components(nlp.config)
    _require(names, f"The pipeline {nlp.pipe_names}")
    settings: Dict[str, Any] = {}
    for name in names:
        model_config = nlp.get_pipe_config(name)["model"]
        settings = _settings(model_config, levers, f"component {name!r}")
        configure_shim(nlp.get_pipe(name).model, **settings)
        model_config.update(levers)
    return settings


def write_inference_settings(pipeline_dir: Union[str, Path], **levers: Any) -> Dict[str, Any]:
    """Write ``levers`` into a saved pipeline's ``config.cfg`` (what ``spacy.load`` will use); returns them."""
    path = Path(pipeline_dir) / "config.cfg"
    if not path.is_file():
        raise InputError(f"No config.cfg in {pipeline_dir}: pass a saved pipeline folder.")
    config = load_config(path, interpolate=False)
    names = encoder_components(config)
    _require(names, str(pipeline_dir))
    settings: Dict[str, Any] = {}
    for name in names:
        settings = _settings(config["components"][name]["model"], levers, f"{path}, component {name!r}")
        config["components"][name]["model"].update(levers)
    config.to_disk(path)
    return settings
