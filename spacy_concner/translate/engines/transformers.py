"""The ``transformers`` engine: any seq2seq MT model transformers loads, by name or local path."""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from spacy.util import minibatch

from .base import EngineUnavailable, Translator, register_builtin


class TransformersTranslator(Translator):
    """Any seq2seq MT model transformers loads (Marian, NLLB, M2M100); greedy by default."""

    name = "transformers"

    def __init__(
        self,
        src: str,
        tgt: str,
        model: Optional[str] = None,
        batch_size: int = 16,
        max_length: int = 256,
        num_beams: int = 1,
        device: str = "cpu",
        src_code: Optional[str] = None,
        tgt_code: Optional[str] = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as err:
            raise EngineUnavailable(f"The transformers backend needs `pip install transformers sentencepiece torch` ({err}).") from None
        self.model_name = model or f"Helsinki-NLP/opus-mt-{src}-{tgt}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(self.model_name).to(device).eval()
        except (OSError, ValueError) as err:
            local = Path(self.model_name).exists()
            raise EngineUnavailable(
                f"Could not load MT model {self.model_name!r} for {src}->{tgt}"
                + (" from its local directory" if local else " (not a local directory; a hub name needs a network)")
                + ". Pass model=<directory saved with save_pretrained> or a reachable model name."
                + f" transformers said: {str(err).splitlines()[0]}"
            ) from None
        self.torch = torch
        self.batch_size = batch_size
        self.max_length = max_length
        self.num_beams = num_beams
        self.device = device
        self.gen_kwargs: Dict[str, Any] = {}
        src_code = src_code or src
        tgt_code = tgt_code or tgt
        if hasattr(self.tokenizer, "src_lang") and src_code:
            try:
                self.tokenizer.src_lang = src_code
            except (KeyError, ValueError):
                pass
        if hasattr(self.tokenizer, "get_lang_id"):  # M2M100
            self.gen_kwargs["forced_bos_token_id"] = self.tokenizer.get_lang_id(tgt_code)
        elif tgt_code in self.tokenizer.get_vocab() and tgt_code != src_code:  # NLLB: "deu_Latn"
            self.gen_kwargs["forced_bos_token_id"] = self.tokenizer.convert_tokens_to_ids(tgt_code)

    def translate(self, texts: Sequence[str], ids: Sequence[str]) -> List[str]:
        out = [""] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        for chunk in minibatch(todo, size=self.batch_size):
            enc = self.tokenizer(
                [texts[i] for i in chunk], return_tensors="pt", padding=True, truncation=True, max_length=self.max_length
            ).to(self.device)
            with self.torch.no_grad():
                generated = self.model.generate(
                    **enc, num_beams=self.num_beams, do_sample=False, max_length=self.max_length, **self.gen_kwargs
                )
            for i, text in zip(chunk, self.tokenizer.batch_decode(generated, skip_special_tokens=True)):
                out[i] = text
        return out

    def describe(self) -> Dict[str, Any]:
        return {"engine": self.name, "model": self.model_name, "num_beams": self.num_beams}


make_transformers = register_builtin("transformers", TransformersTranslator)
