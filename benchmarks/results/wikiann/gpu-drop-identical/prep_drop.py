"""Prepare the --drop-identical caches by reusing each seed's keep-cache data and pruned encoder
(dropped translations are word for word their English source, which is in the pruning texts, so the
pruned vocabulary is the same) and translating with identical=drop."""
import shutil, sys
sys.path.insert(0, "benchmarks")
from accuracy import parser, resolve
from accuracy_data import shared_folder, seed_folder, prepare_seed
base = ["--dataset", "wikiann", "--seeds", "0", "1", "2", "--epochs", "10", "--distill-epochs", "3", "--evals", "10",
        "--freeze-embeddings", "--full-encoder", "/work/main/assets/me5-small", "--cache", "/work/bench-runs/wikiann/cache",
        "--runs", "/tmp/x"]
keep = resolve(parser().parse_args(base)); drop = resolve(parser().parse_args(base + ["--drop-identical"]))
shared = shared_folder(keep)
for seed in (0, 1, 2):
    k, d = seed_folder(keep, seed, shared), seed_folder(drop, seed, shared)
    print(seed, k.name, d.name, flush=True)
    d.mkdir(parents=True, exist_ok=True)
    for sub in ("data", "encoder"):
        if not (d / sub).exists():
            shutil.copytree(k / sub, d / sub)
    info = prepare_seed(drop, seed, shared, d)
    print({l: (v["kept"], v["dropped_total"]) for l, v in info["translations"].items()}, flush=True)
