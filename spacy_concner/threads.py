"""Keep forked workers (``nlp.pipe(n_process=...)``) from deadlocking in torch's CPU thread pool.

torch's CPU build runs its intra-op parallelism on GNU OpenMP, which is not fork-safe: once the
parent has run a multi-threaded op (any forward pass does), a child forked from it that starts an
OpenMP region waits forever for threads that were not copied. spaCy's ``n_process`` forks on
Linux, so the workers are such children. Each child is set to one torch thread as it starts
(torch's own DataLoader does the same to its workers): the processes, not threads, use the cores.
"""
import os
import sys

_registered = False


def _one_thread_in_child() -> None:
    torch = sys.modules.get("torch")  # a child of a process that never imported torch has no pool
    if torch is not None:
        torch.set_num_threads(1)


def register_fork_handler() -> None:
    """Install the after-fork hook once per process (idempotent; a no-op where fork does not exist)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_one_thread_in_child)
        _registered = True
