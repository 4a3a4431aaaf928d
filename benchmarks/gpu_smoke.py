"""GPU smoke test: two training steps of every config (and the concner config with the speed levers)
with ``spacy train --gpu-id``, then ``nlp.pipe``.

It proves the training path runs on the device (loss, optimizer, listener, heads) and says where
every array lived. Data: the sample corpus in corpus/ (no network, no translation engines). The
encoder: a folder (e.g. the offline multilingual-e5-small) or, by default, a tiny BERT built on
the spot like the tests' one. On a machine without a GPU, ``--gpu-id -1`` runs the same steps on CPU.

    python benchmarks/gpu_smoke.py --gpu-id 0 [--encoder assets/me5-small] [--out /tmp/gpu_smoke]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


def build_corpus(out: Path) -> Dict[str, Path]:
    """DocBins of the sample corpus: en train/dev, de translations, de unlabelled text."""
    import spacy
    from spacy.tokens import DocBin

    from spacy_concner.data.conll import read_conll

    vocab = spacy.blank("xx").vocab
    paths = {
        "train": ("en", CORPUS / "en" / "train.iob"), "dev": ("en", CORPUS / "en" / "dev.iob"),
        "trans": ("de", CORPUS / "de" / "train.translated.iob"), "test": ("de", CORPUS / "de" / "test.iob"),
    }
    written = {}
    for key, (lang, path) in paths.items():
        written[key] = out / f"{key}.spacy"
        DocBin(store_user_data=True, docs=read_conll(path, lang, vocab)).to_disk(written[key])
    return written


def tiny_encoder(out: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import build_tiny_bert

    return build_tiny_bert(out / "tiny_bert")


def train(cfg: str, output: Path, gpu_id: int, extra: List[str]) -> Dict[str, object]:
    cmd = [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / cfg), "--output", str(output),
           "--gpu-id", str(gpu_id), "--training.max_steps", "2", "--training.eval_frequency", "1",
           "--training.optimizer.learn_rate.warmup_steps", "1", *extra]
    start = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = (proc.stdout + proc.stderr).splitlines()
    return {"config": cfg, "returncode": proc.returncode, "seconds": round(time.time() - start, 1),
            "device_line": next((l for l in log if "GPU" in l or "CPU" in l), ""),
            "tail": log[-12:] if proc.returncode else log[-4:]}


def where(nlp) -> Dict[str, str]:
    """Device of the transformer's weights and array type of the concner head's output."""
    hf = [s._model for n in nlp.get_pipe("transformer").model.walk() for s in n.shims][0]
    docs = [nlp.get_pipe("transformer")(nlp.make_doc("Angela Merkel besuchte Paris ."))]
    logits = nlp.get_pipe("concner").model.predict(docs).logits
    return {"transformer_weights": str(next(hf.parameters()).device),
            "concner_logits": f"{type(logits).__module__}.{type(logits).__name__}"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu-id", type=int, default=0)
    parser.add_argument("--encoder", default="", help="Hugging Face encoder folder (default: a tiny BERT)")
    parser.add_argument("--out", default="/tmp/concner_gpu_smoke")
    args = parser.parse_args(argv)
    import spacy
    import torch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: Dict[str, object] = {"gpu_id": args.gpu_id, "torch": torch.__version__,
                                 "cuda_available": torch.cuda.is_available(),
                                 "device_name": torch.cuda.get_device_name(args.gpu_id) if args.gpu_id >= 0 and torch.cuda.is_available() else "cpu"}
    data = build_corpus(out)
    encoder = args.encoder or str(tiny_encoder(out))
    report["encoder"] = encoder
    common = ["--paths.train", str(data["train"]), "--paths.dev", str(data["dev"]), "--paths.transformer", encoder]
    with_trans = common + ["--paths.translations", json.dumps([str(data["trans"])])]
    runs = [train("baseline_src.cfg", out / "src", args.gpu_id, common)]
    for cfg in ("baseline_src_trans.cfg", "concner.cfg"):
        runs.append(train(cfg, out / cfg.split(".")[0], args.gpu_id, with_trans))
    # the speed levers on the device: mixed precision ("auto": bfloat16 where the GPU has it) and frozen embeddings
    runs.append(train("concner.cfg", out / "concner_levers", args.gpu_id,
                      with_trans + ["--initialize.after_init.autocast", "auto",
                                    "--initialize.after_init.freeze_embeddings", "true"]))
    if args.gpu_id >= 0:
        spacy.require_gpu(args.gpu_id)
    teacher = spacy.load(out / "concner" / "model-last")
    from spacy_concner.workflow.distill import annotate_file

    texts = out / "unlabelled.txt"
    texts.write_text((CORPUS / "de" / "unlabeled.txt").read_text(encoding="utf-8"), encoding="utf-8")
    n_soft = annotate_file(teacher, texts, out / "soft" / "de.spacy", "de", limit=32)
    runs.append(train("distill.cfg", out / "distill", args.gpu_id,
                      common + ["--paths.soft", json.dumps([str(out / "soft")])]))
    report["trainings"] = runs
    report["annotated_docs"] = n_soft
    student = spacy.load(out / "distill" / "model-last")
    test_texts = [d.text for d in spacy.tokens.DocBin().from_disk(data["test"]).get_docs(student.vocab)]
    start = time.time()
    docs = list(student.pipe(test_texts, batch_size=32))
    report["pipe"] = {"docs": len(docs), "seconds": round(time.time() - start, 2),
                      "entities": sum(len(d.ents) for d in docs),
                      "first": [(e.text, e.label_) for d in docs for e in d.ents][:5]}
    report["where"] = where(student)
    report["ok"] = all(r["returncode"] == 0 for r in runs)
    print(json.dumps(report, indent=1))
    (out / "gpu_smoke.json").write_text(json.dumps(report, indent=1))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
