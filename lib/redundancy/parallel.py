"""Independent CPU work in worker processes of one torch thread each.

On the 2-core machine, two one-thread processes do 1.36x the work of one two-thread process
(pruning sweeps, ``benchmarks/notebook_parallelism.py``): the tiny models' operations are too small
for torch's intra-op threads to pay off fully. Only for work that measures no time: a timing taken
while another process computes moves by up to about 10 % (same benchmark), so callers time
afterwards, alone. On a GPU the work runs in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any, TypeVar

T = TypeVar("T")


def worker_count(device: str, jobs: int | None = None) -> int:
    """How many worker processes to use: ``jobs`` if given, else one per core on a CPU; always 1
    (the calling process) on a GPU, where one process keeps the device busy."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if not str(device).startswith("cpu"):
        return 1
    return jobs if jobs is not None else max(1, os.cpu_count() or 1)


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _call(function: Callable[..., T], call: tuple[Any, ...] | dict[str, Any]) -> T:
    return function(**call) if isinstance(call, dict) else function(*call)


def map_in_processes(function: Callable[..., T], calls: Sequence[tuple[Any, ...] | dict[str, Any]], jobs: int = 1,
                     progress: bool = True, desc: str = "") -> list[T]:
    """``function`` on each call (a tuple of positional or a dict of keyword arguments), results in
    the calls' order, run by ``jobs`` spawned workers of one
    torch thread each (``jobs`` = 1: in this process, threads untouched). ``function`` and its
    arguments must be picklable: a module-level function, not one defined in a notebook. The first
    failure is raised once the running calls have ended; calls not started yet are cancelled."""
    from tqdm.auto import tqdm

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    calls = list(calls)
    if jobs == 1 or len(calls) <= 1:
        return [_call(function, call) for call in tqdm(calls, desc=desc, disable=not progress)]
    results: list[Any] = [None] * len(calls)
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=min(jobs, len(calls)), mp_context=context,
                                     initializer=_one_thread) as pool:
        pending = {pool.submit(_call, function, call): i for i, call in enumerate(calls)}
        try:
            with tqdm(total=len(calls), desc=desc, disable=not progress) as bar:
                for done in futures.as_completed(pending):
                    results[pending[done]] = done.result()
                    bar.update()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results
