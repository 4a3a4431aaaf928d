"""A trained pipeline's transformer as a Hugging Face folder (find it, export it)."""
from pathlib import Path
from typing import Tuple, Union

from spacy.language import Language
from spacy.pipeline import TrainablePipe

from ..compat import vocab_file_contents
from ..errors import InputError
from ..fileio import atomic_output


def find_transformer(nlp: Language, purpose: str) -> Tuple[str, TrainablePipe]:
    """The pipeline's spacy-transformers component (name, pipe); ``purpose`` says who needs it."""
    from spacy_transformers import Transformer

    names = [name for name, proc in nlp.pipeline if isinstance(proc, Transformer)]
    if not names:
        raise InputError(
            f"The pipeline {nlp.pipe_names} has no spacy-transformers 'transformer' component; "
            f"{purpose} needs a transformer pipeline such as training/concner/model-best."
        )
    return names[0], nlp.get_pipe(names[0])


def export_encoder(nlp: Language, output_dir: Union[str, Path]) -> Path:
    """Save a trained pipeline's transformer (weights + tokenizer) as a Hugging Face folder.

    The folder works wherever a model name does (``--paths.transformer``), e.g. to start a
    distillation student from the teacher's fine-tuned encoder with a fresh tagging head instead
    of from the pretrained one: the student then keeps what the teacher learned about the task
    and spends its steps adapting to the target text.
    """
    model = find_transformer(nlp, "export-encoder")[1].model
    if model.transformer is None:
        raise InputError("The pipeline's transformer is not loaded (initialize or load the pipeline first).")
    output_dir = Path(output_dir)
    with atomic_output(output_dir) as tmp:  # the folder appears only once it is complete
        tmp.mkdir()
        model.transformer.save_pretrained(str(tmp))
        tokenizer = model.tokenizer
        tokenizer.save_pretrained(str(tmp))
        # spacy-transformers reads the tokenizer's vocabulary file (e.g. sentencepiece.bpe.model) when it
        # loads a folder; a pipeline loaded from disk keeps that file's bytes, not the file, so a fast
        # tokenizer cannot save it by itself: write it from the stored bytes.
        vocab_name = getattr(tokenizer, "vocab_files_names", {}).get("vocab_file")
        contents = vocab_file_contents(model)
        if vocab_name and contents and not (tmp / vocab_name).exists():
            (tmp / vocab_name).write_bytes(contents)
    return output_dir
