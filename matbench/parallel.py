"""Where the work of every command runs: this process, local worker processes (joblib).

Every command that maps one function over many independent tasks (build a foreground's
composites, score an image, verify a row, predict an image) goes through :func:`imap` or
:func:`imap_unordered`, so there is one place that decides how work is spread. Results stream
back as they finish, so memory holds a few tasks' results, not the whole dataset's; the
outputs never depend on ``jobs``.

``fn`` and the tasks must be picklable for ``jobs > 1`` (module-level functions, plain data).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

__all__ = ["imap", "imap_unordered", "resolve_jobs"]


def resolve_jobs(jobs) -> int:
    """``jobs`` as a worker count: None -> 1; negative -> cores + 1 + jobs (joblib's rule)."""
    jobs = int(jobs or 1)
    if jobs < 0:
        jobs = max(1, (os.cpu_count() or 1) + 1 + jobs)
    return jobs


def imap(fn: Callable, tasks: Iterable, *, jobs: int = 1, batch_size="auto") -> Iterator:
    """``fn(task)`` for every task, yielded in task order."""
    jobs = resolve_jobs(jobs)
    tasks = list(tasks)
    if jobs == 1 or len(tasks) < 2:
        return map(fn, tasks)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs", batch_size=batch_size)(
        delayed(fn)(t) for t in tasks)


def imap_unordered(fn: Callable, tasks: Iterable, *, jobs: int = 1) -> Iterator[tuple[int, object]]:
    """``(i, fn(tasks[i]))`` for every task, yielded as each finishes (any order)."""
    jobs = resolve_jobs(jobs)
    tasks = list(tasks)
    if jobs == 1 or len(tasks) < 2:
        return ((i, fn(t)) for i, t in enumerate(tasks))
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(_indexed)(fn, i, t) for i, t in enumerate(tasks))


def _indexed(fn, i, task):
    return i, fn(task)
