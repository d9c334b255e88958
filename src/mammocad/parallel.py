"""Run batch work locally or on a Dask cluster, through one code path.

:func:`map_completed` applies a function to every item and yields
``(index, result)`` pairs as they finish, so that the caller can show progress and
checkpoint results while the rest are still running. Where it runs is a choice of
arguments, not of code:

- ``workers=None`` or ``1``: in this process, one item after the other;
- ``workers=N`` (N ≥ 2): a :class:`dask.distributed.LocalCluster` of ``N`` worker
  processes with one thread each, started for the call and closed after it (forked
  on Linux, so that they start with this process's imports);
- ``scheduler="tcp://host:port"``: an existing Dask cluster; the function and
  items are shipped to its workers (which need ``mammocad`` installed).

The function must be importable by name (defined at module level), and return
values that pickle; exceptions raised by it propagate to the caller. As with any
process pool, a script that starts a local cluster must do so under
``if __name__ == "__main__":`` (worker processes re-import the main module).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from mammocad.errors import MammocadError

__all__ = ["map_completed", "check_execution", "SchedulerLostError"]

#: Seconds to wait for an existing Dask scheduler to answer.
SCHEDULER_TIMEOUT_S = 10.0

T = TypeVar("T")
R = TypeVar("R")


def check_execution(workers: int | None, scheduler: str | None) -> None:
    """Validate the ``workers`` / ``scheduler`` pair (MammocadError if unusable)."""
    if workers is not None and scheduler is not None:
        raise MammocadError("give either workers (a local cluster) or scheduler (an existing one), not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise MammocadError(f"workers must be a whole number ≥ 1, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise MammocadError(f"scheduler must be an address such as tcp://host:8786, got {scheduler!r}")


def map_completed(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    desc: str | None = None,
) -> Iterator[tuple[int, R]]:
    """Apply ``func`` to every item; yield ``(index, result)`` in order of completion.

    Parameters
    ----------
    func : callable
        A module-level function of one item.
    items : sequence
        The inputs; ``index`` in the output is the position here.
    workers : int, optional
        ``None`` or 1 runs in this process; ``N`` ≥ 2 starts a local Dask cluster
        of ``N`` single-threaded worker processes.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:port``) to use instead.
    progress : bool
        Show a tqdm progress bar.
    desc : str, optional
        Label of the progress bar.

    Yields
    ------
    (int, object)
        Index of the item and ``func(item)``.

    Raises
    ------
    MammocadError
        If ``workers`` / ``scheduler`` are invalid or the scheduler cannot be reached.
    SchedulerLostError
        If the scheduler goes away (or the connection to it breaks) during the run;
        results yielded before it are the caller's to keep.

    Examples
    --------
    >>> sorted(map_completed(abs, [-2, 3, -1]))
    [(0, 2), (1, 3), (2, 1)]
    """
    check_execution(workers, scheduler)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(items), desc=desc, disable=not progress, unit="item")
    try:
        if scheduler is None and (workers is None or workers == 1):
            stream: Iterator[tuple[int, Any]] = ((k, func(item)) for k, item in enumerate(items))
        else:
            stream = _dask_stream(func, items, workers=workers, scheduler=scheduler)
        for pair in stream:
            bar.update(1)
            yield pair
    finally:
        bar.close()


class SchedulerLostError(MammocadError):
    """The Dask scheduler (or the connection to it) went away while work was running."""


@contextlib.contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Dask's own loggers say nothing below CRITICAL while a run lasts: mammocad reports for them.

    A lost scheduler, for one, makes the client log reconnection tracebacks; the
    run instead ends with one :class:`SchedulerLostError` line.
    """
    prefixes = ("distributed", "tornado", "asyncio")
    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] in prefixes]
    loggers = [logging.getLogger(name) for name in {*prefixes, *names}]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _start_method() -> str:
    """How the local cluster starts its worker processes: ``fork`` on Linux, else ``spawn``.

    A forked worker starts with everything this process has imported already
    (mammocad, NumPy, SciPy, pandas), where a spawned one imports it all again:
    measured on 2 cores, a 2-worker cluster is up, warm and closed in 0.4-0.6 s
    forked against 3.6-5.8 s spawned (``benchmarks/features_dask.py``), which is
    most of what kept small runs from scaling. Elsewhere (macOS, Windows) forking
    a process with threads is unsafe, and Dask's default, ``spawn``, is kept.
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _dask_stream(
    func: Callable[[T], R], items: Sequence[T], *, workers: int | None, scheduler: str | None
) -> Iterator[tuple[int, R]]:
    from concurrent.futures import CancelledError

    import dask
    from distributed import Client, LocalCluster, as_completed

    lost = (OSError, TimeoutError, CancelledError)  # CommClosedError is an OSError
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_dask_logs())
        if scheduler is not None:
            where = f"the Dask scheduler at {scheduler}"
            try:
                client = stack.enter_context(Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s"))
            except (OSError, TimeoutError) as exc:
                raise MammocadError(f"cannot reach {where}: {exc}") from None
        else:
            where = "the local Dask cluster"
            stack.enter_context(
                dask.config.set(
                    {
                        "distributed.worker.multiprocessing-method": _start_method(),
                        # The statistical profiler samples every task's Python stack
                        # (10 ms) under the GIL the task needs: ~10 % of our time.
                        "distributed.worker.profile.enabled": False,
                    }
                )
            )
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    worker_dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                    # No dashboard; the scheduler's own HTTP endpoint on a free loopback port
                    # (not 8787, which another cluster may hold: Dask would warn about it).
                    scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                )
            )
            client = stack.enter_context(Client(cluster))
        try:
            futures = client.map(func, list(items), pure=False)
        except lost as exc:
            raise SchedulerLostError(f"lost {where} ({type(exc).__name__})") from None
        index = {f.key: k for k, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                if future.status == "error":
                    future.result()  # the task's own exception, raised here as it was there
                try:
                    result = future.result()
                except lost as exc:
                    raise SchedulerLostError(
                        f"lost {where} while work was running ({type(exc).__name__})"
                    ) from None
                k = index[future.key]
                future.release()
                yield k, result
        finally:
            with contextlib.suppress(*lost, RuntimeError):
                client.cancel([f for f in futures if not f.done()])
