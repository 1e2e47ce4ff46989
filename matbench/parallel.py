"""Where the work of every command runs: this process, local worker processes (joblib), or
a running dask.distributed cluster.

Every command that maps one function over many independent tasks (build a foreground's
composites, score an image, verify a row, predict an image) goes through :func:`imap` or
:func:`imap_unordered`, so there is one place that decides how work is spread. Results stream
back as they finish, so memory holds a few tasks' results, not the whole dataset's; the
outputs never depend on ``jobs``.

``fn`` and the tasks must be picklable for ``jobs > 1`` (module-level functions, plain data).

A cluster: ``scheduler="tcp://host:8786"`` (the CLI's ``--scheduler``), or the environment
variable ``MATBENCH_SCHEDULER``, sends every task to the dask.distributed scheduler at that
address through joblib's dask backend (``jobs`` is then ignored: the cluster's workers do the
work). The results are the same as with ``jobs=1``, returned in the same way (streaming, in
order for :func:`imap`); a ``MatbenchError`` raised in a worker reaches the caller as itself.
The workers must run the same matbench version (checked on connecting) and see the files at
the same paths (a shared file system). dask is an optional extra: ``pip install -e '.[cluster]'``.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial

__all__ = ["imap", "imap_unordered", "prefetch", "resolve_jobs", "workers", "scheduler_address", "connect", "disconnect",
           "cluster_workers"]

SCHEDULER_ENV = "MATBENCH_SCHEDULER"
_CLIENTS: dict = {}


def resolve_jobs(jobs) -> int:
    """``jobs`` as a worker count: None -> 1; negative -> cores + 1 + jobs (joblib's rule)."""
    jobs = int(jobs or 1)
    if jobs < 0:
        jobs = max(1, (os.cpu_count() or 1) + 1 + jobs)
    return jobs


def scheduler_address(scheduler=None) -> str | None:
    """The dask scheduler to use: ``scheduler``, else ``$MATBENCH_SCHEDULER``, else None (local)."""
    return str(scheduler or os.environ.get(SCHEDULER_ENV) or "") or None


def connect(address: str):
    """A ``dask.distributed.Client`` for ``address`` (one per process and address), after checking
    that the scheduler answers and that its workers import this matbench version; every problem
    is a one-line MatbenchError saying what to do."""
    from matbench.errors import MatbenchError

    if address in _CLIENTS:
        return _CLIENTS[address]
    try:
        from dask.distributed import Client
    except ImportError:
        raise MatbenchError(f"--scheduler {address}: needs dask.distributed, which the core install leaves out: "
                            f"pip install -e '.[cluster]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise MatbenchError(f"--scheduler {address}: no dask scheduler answers there ({e}); start one with "
                            f"`dask scheduler` and workers with `dask worker {address}`") from None
    import matbench

    versions = client.run(_matbench_version)
    if not versions:
        client.close()
        raise MatbenchError(f"--scheduler {address}: the scheduler has no workers; start some with "
                            f"`dask worker {address}`")
    wrong = {w: v for w, v in versions.items() if v != matbench.__version__}
    if wrong:
        client.close()
        w, v = next(iter(wrong.items()))
        raise MatbenchError(f"--scheduler {address}: {len(wrong)} worker(s) run {v or 'no matbench'} (e.g. {w}), "
                            f"this is matbench {matbench.__version__}: install the same version on every worker")
    _CLIENTS[address] = client
    return client


def disconnect() -> None:
    """Close the clients :func:`connect` opened in this process."""
    while _CLIENTS:
        _CLIENTS.popitem()[1].close()


def _matbench_version():
    try:
        import matbench

        return matbench.__version__
    except ImportError:  # pragma: no cover - only on a misconfigured worker
        return None


def _cluster_map(fn, tasks, address, return_as, batch_size="auto"):
    """Run ``fn`` over ``tasks`` on the cluster at ``address`` through joblib's dask backend."""
    from joblib import Parallel, delayed, parallel_config

    connect(address)
    with parallel_config(backend="dask"):
        yield from Parallel(n_jobs=-1, return_as=return_as, batch_size=batch_size)(delayed(fn)(t) for t in tasks)


def imap(fn: Callable, tasks: Iterable, *, jobs: int = 1, batch_size="auto", scheduler=None) -> Iterator:
    """``fn(task)`` for every task, yielded in task order (on the cluster at ``scheduler``, see
    the module doc, when one is given or set in ``MATBENCH_SCHEDULER``)."""
    jobs = resolve_jobs(jobs)
    tasks = list(tasks)
    address = scheduler_address(scheduler)
    if address:
        return _cluster_map(fn, tasks, address, "generator", batch_size)
    if jobs == 1 or len(tasks) < 2:
        return map(fn, tasks)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs", batch_size=batch_size)(
        delayed(fn)(t) for t in tasks)


def imap_unordered(fn: Callable, tasks: Iterable, *, jobs: int = 1, scheduler=None) -> Iterator[tuple[int, object]]:
    """``(i, fn(tasks[i]))`` for every task, yielded as each finishes (any order; on the cluster
    at ``scheduler`` when one is given or set)."""
    jobs = resolve_jobs(jobs)
    tasks = list(tasks)
    address = scheduler_address(scheduler)
    if address:
        return _cluster_map(partial(_indexed, fn), list(enumerate(tasks)), address, "generator_unordered")
    if jobs == 1 or len(tasks) < 2:
        return ((i, fn(t)) for i, t in enumerate(tasks))
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(_indexed)(fn, it) for it in enumerate(tasks))


def _indexed(fn, i_task):
    i, task = i_task
    return i, fn(task)


class prefetch:  # noqa: N801 - used like a function, as map()
    """``fn(item)`` for every item, in order, computed in a background thread up to ``ahead``
    items in advance: an iterator that overlaps, in one process, reading the next inputs with
    working on the current ones (PNG/JPEG decoding in Pillow and OpenCV, file I/O and hashing
    release the GIL; so do the numba metric kernels).

    The thread starts at once, so work done before the first ``next()`` (loading compiled
    kernels, say) already overlaps with reading. At most ``ahead`` results wait in memory. An
    exception raised by ``fn`` is raised by ``next()`` at that item's turn; after it, and after
    :meth:`close` (also when the iterator is garbage-collected or a ``with`` block ends), the
    thread stops at its next item.
    """

    def __init__(self, fn: Callable, items: Iterable, ahead: int = 2):
        import queue
        import threading

        self._queue = queue.Queue(maxsize=max(1, int(ahead)))
        self._stop = threading.Event()
        # the thread holds the queue and the event, not this object, so dropping it stops the thread
        threading.Thread(target=_prefetch_fill, args=(fn, iter(items), self._queue, self._stop), daemon=True,
                         name="matbench-prefetch").start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._stop.is_set():
            raise StopIteration
        ok, value = self._queue.get()
        if ok and value is _DONE:
            self._stop.set()
            raise StopIteration
        if not ok:
            self.close()
            raise value
        return value

    def close(self) -> None:
        """Stop the thread (it finishes the item in hand) and drop what was read ahead."""
        self._stop.set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


_DONE = object()


def _prefetch_fill(fn, items, q, stop) -> None:
    """The thread of :class:`prefetch`: ``(True, fn(item))`` per item into ``q``, then
    ``(True, _DONE)``; ``(False, exception)`` ends it early; so does ``stop``."""
    import queue

    def put(out) -> bool:
        while not stop.is_set():
            try:
                q.put(out, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    for item in items:
        if stop.is_set():
            return
        try:
            out = (True, fn(item))
        except BaseException as e:  # handed to the consumer, raised there
            out = (False, e)
        if not put(out) or not out[0]:
            return
    put((True, _DONE))


def workers(jobs=1, scheduler=None) -> int:
    """How many tasks run at once: the cluster's worker threads when a scheduler is given (or
    set in ``$MATBENCH_SCHEDULER``), else ``jobs`` (:func:`resolve_jobs`)."""
    address = scheduler_address(scheduler)
    if not address:
        return resolve_jobs(jobs)
    return max(1, sum(w.get("nthreads", 1) for w in cluster_workers(address).values()))


def cluster_workers(address: str) -> dict:
    """``{worker address: {"nthreads": n, "memory_limit": bytes (0: none), ...}}`` of the cluster
    at ``address``, as its scheduler reports them."""
    return connect(address).scheduler_info(n_workers=-1)["workers"]
