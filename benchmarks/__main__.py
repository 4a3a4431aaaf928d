"""The benchmarks' one entry point: ``python -m benchmarks COMMAND [OPTIONS]`` from the repository root.

accuracy        the workflow (`spacy project run`) per seed on WikiAnn or CoNLL, and the report over seeds
speed           training-step time and inference throughput against raw torch, interleaved rounds
package         the packaged wheel: size, load time and throughput in a fresh virtual environment
gpu-smoke       a short training and tagging run on a GPU (through the `device` machine when one is lent)
lexicon-script  share of Latin-script entity words in lexicon translations against the target's own text
tag-scaling     batch-tagging throughput in one process and on 1..N Ray workers (outputs checked equal)
inference       inference levers (bf16, int8, sorted windows): throughput vs raw fp32 torch and F1 on WikiAnn test
"""
import importlib
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COMMANDS = {"accuracy": "benchmarks.accuracy", "speed": "benchmarks.speed", "package": "benchmarks.package",
            "gpu-smoke": "benchmarks.gpu_smoke", "lexicon-script": "benchmarks.lexicon_script",
            "tag-scaling": "benchmarks.tag_scaling", "inference": "benchmarks.inference"}


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit(__doc__ + f"\nusage: python -m benchmarks {{{','.join(COMMANDS)}}} [OPTIONS]")
    importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    main()
