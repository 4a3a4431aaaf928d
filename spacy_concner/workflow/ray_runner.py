"""Scale-out on Ray Data: a pipeline as a stateful actor over the chunks of a corpus.

Ray is an optional extra (``pip install "spacy-concner[ray]"``); nothing else in the package
imports it. The driver cuts the corpus into keyed chunks (bytes in, bytes out), Ray Data's
``map_batches`` runs a task object (:class:`~.tagging.TagTask`, :class:`~.annotate_ray.AnnotateTask`)
in ``workers`` actors that each load the pipeline once, and the results come back in key order.
A worker that dies (or raises) is restarted and its chunk retried by Ray (``max_restarts``,
``max_task_retries``, ``DataContext.actor_task_retry_on_errors``); the driver checks that every
key comes back exactly once, so a retry can neither lose nor duplicate a document.
"""
import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, Optional, Sequence, Tuple

from ..errors import InputError

logger = logging.getLogger(__name__)


@dataclass
class RayOptions:
    """Where and how wide to run.

    ``address``: ``None`` or ``"local"`` starts a Ray instance on this machine (or uses the one
    this process already joined); ``"auto"`` joins a running local cluster; ``ray://host:port``
    joins a remote one. ``num_cpus`` / ``num_gpus`` are reserved per worker.
    """

    address: Optional[str] = None
    workers: int = 2
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_retries: int = 3
    retry_errors: bool = True  # a worker's exception is retried too (up to max_retries), not only its death


def require_ray() -> None:
    """An :class:`InputError` that says what to install when Ray is missing."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as err:
        raise InputError(f"Running on Ray needs the ray extra ({err}); pip install \"spacy-concner[ray]\" "
                         "or run without --ray/--workers.") from None


class ChunkActor:
    """Ray Data's stateful UDF: the task (and its pipeline) is set up once per worker."""

    def __init__(self, task: Callable[[bytes], bytes]) -> None:
        self.task = task
        task.setup()

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        import numpy

        results = [self.task(bytes(payload)) for payload in batch["payload"]]
        return {"key": numpy.asarray(batch["key"]), "payload": numpy.array(results, dtype=object)}


def in_key_order(pairs: Iterable[Tuple[int, bytes]], n: int) -> Iterator[bytes]:
    """Yield the values of keys ``0..n-1`` in order; a key seen twice, unknown or missing is an error."""
    pending: Dict[int, bytes] = {}
    expected = 0
    for key, value in pairs:
        key = int(key)
        if not 0 <= key < n or key < expected or key in pending:
            raise RuntimeError(f"chunk {key} came back twice or was never sent ({n} chunks): refusing to write "
                               "duplicated documents")
        pending[key] = value
        while expected in pending:
            yield pending.pop(expected)
            expected += 1
    if expected != n:
        raise RuntimeError(f"{n - expected} of {n} chunks never came back (first missing: {expected})")


@contextlib.contextmanager
def connected(options: RayOptions) -> Iterator[None]:
    """Join (or start) Ray for the duration; a Ray this process already joined is left running."""
    import ray

    if ray.is_initialized():
        yield
        return
    if options.address in (None, "", "local"):
        cpus = max(os.cpu_count() or 1, int(options.workers * options.num_cpus + 0.999))
        ray.init(num_cpus=cpus, include_dashboard=False)
    else:
        ray.init(address=options.address)
    try:
        yield
    finally:
        ray.shutdown()


def retry_settings(ctx, options: RayOptions) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """DataContext settings and actor remote args that retry a worker's exception ``max_retries`` times.

    A worker that *dies* is restarted and its chunk retried by Ray Data's defaults for actor pools
    (``max_restarts=-1``, ``max_task_retries=-1``). An exception is retried in the worker where Ray
    has ``max_map_retries`` (2.5x+; remote args there are deprecated), else by Ray Core.
    """
    if hasattr(ctx, "max_map_retries"):
        return {"retried_map_errors": options.retry_errors, "max_map_retries": options.max_retries}, {}
    return ({"actor_task_retry_on_errors": options.retry_errors},
            {"max_restarts": -1, "max_task_retries": options.max_retries})


def run_chunks(task: Callable[[bytes], bytes], payloads: Sequence[bytes], options: RayOptions) -> Iterator[bytes]:
    """``task(payload)`` for every payload on Ray workers, yielded in input order."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext

    if options.workers < 1:
        raise InputError(f"--workers must be at least 1, not {options.workers}.")
    with connected(options):
        ctx = DataContext.get_current()
        settings, remote_args = retry_settings(ctx, options)
        saved = {name: getattr(ctx, name) for name in settings}
        saved_order = ctx.execution_options.preserve_order
        try:
            for name, value in settings.items():
                setattr(ctx, name, value)
            ctx.execution_options.preserve_order = True
            ds = ray.data.from_items([{"key": i, "payload": p} for i, p in enumerate(payloads)])
            ds = ds.map_batches(
                ChunkActor, fn_constructor_args=(task,), batch_size=1, compute=ActorPoolStrategy(size=options.workers),
                num_cpus=options.num_cpus, num_gpus=options.num_gpus or None, **remote_args,
            )
            rows = ((row["key"], row["payload"]) for row in ds.iter_rows())
            yield from in_key_order(rows, len(payloads))
        finally:
            for name, value in saved.items():
                setattr(ctx, name, value)
            ctx.execution_options.preserve_order = saved_order
