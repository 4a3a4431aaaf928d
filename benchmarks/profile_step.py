"""Profile one case of the speed benchmark with cProfile (where does our overhead go?).

    python benchmarks/profile_step.py ours_train --encoder assets/me5-small [--steps 3] [--top 40]

Runs the case's workload in this process (warm-up first), prints the cumulative and own-time
top functions, and for raw_train a phase breakdown (forward / backward / clip / optimizer).
"""
import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed_cases  # noqa: E402
from speed import all_cases  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case")
    parser.add_argument("--encoder", default=str(speed_cases.ROOT / "assets" / "me5-small"))
    parser.add_argument("--pruned-encoder", default="")
    parser.add_argument("--n-batches", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2, help="profiled repetitions")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="", help="also dump the raw pstats here")
    args = parser.parse_args()
    settings = speed_cases.Settings(encoder=args.encoder, pruned_encoder=args.pruned_encoder,
                                    n_batches=args.n_batches, warmup=1, reps=0, threads=args.threads)
    case = next(c for c in all_cases(settings) if c.name == args.case)
    # run the case's setup + warm-up, but capture the epoch function instead of timing it
    captured = {}
    real_timed = speed_cases._timed
    speed_cases._timed = lambda fn, s, r: captured.update(fn=fn) or real_timed(fn, s, r)
    speed_cases.run_case(settings, case)
    fn = captured["fn"]
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    for _ in range(args.steps):
        fn()
    prof.disable()
    total = time.perf_counter() - start
    print(f"{case.name}: {args.steps} reps x {args.n_batches} batches in {total:.2f}s "
          f"({1000 * total / (args.steps * args.n_batches):.0f} ms per batch)")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    if args.out:
        stats.dump_stats(args.out)


if __name__ == "__main__":
    main()
