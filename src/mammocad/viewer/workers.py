"""A bounded pool for the viewer's heavy work (decoding, candidates, analyses).

Every request that decodes an image or runs a pipeline stage takes a *ticket*
before it does anything else (before an upload's body is even read): at most
``workers`` of them run at a time, at most ``queue`` more wait, and a request
that finds every place taken is answered at once with 429 and ``Retry-After``.
Page, status and feature requests take no ticket, so they stay fast however many
analyses are asked for, and the memory held for work in flight is bounded by
``workers + queue``.

The work itself runs on the pool's own ``workers`` threads, always the same ones,
and when the pool falls idle the C allocator is asked to hand freed memory back
to the system (``malloc_trim`` on glibc): a burst of analyses leaves the server's
resident memory where the burst found it, instead of spread over the arenas of
every thread that once ran an analysis.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from mammocad.errors import MammocadError

__all__ = ["WorkPool", "PoolBusy", "Ticket"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class PoolBusy(MammocadError, RuntimeError):
    """Every place of the pool is taken; the web app answers 429 with ``Retry-After``."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class WorkPool:
    """``workers`` running and ``queue`` waiting places for heavy requests.

    Parameters
    ----------
    workers : int
        Pieces of work running at the same time (each on its own thread).
    queue : int
        Requests allowed to wait for a running place; one more is refused with
        :class:`PoolBusy`.

    Raises
    ------
    MammocadError
        If ``workers`` < 1 or ``queue`` < 0.

    Examples
    --------
    >>> pool = WorkPool(workers=1, queue=0)
    >>> ticket = pool.ticket()
    >>> pool.ticket()
    Traceback (most recent call last):
    ...
    mammocad.viewer.workers.PoolBusy: the viewer is busy: 1 analyses running or waiting (1 at a time, 0 waiting); try again in a moment
    >>> ticket.run(sum, [1, 2])
    3
    >>> pool.held
    0
    """

    def __init__(self, workers: int = 2, queue: int = 8) -> None:
        if workers < 1 or queue < 0:
            raise MammocadError(f"workers must be >= 1 and queue >= 0, got {workers} and {queue}")
        self.workers = int(workers)
        self.queue = int(queue)
        self._executor = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="mammocad-work", initializer=_lower_priority
        )
        self._held = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """Places in all: running plus waiting."""
        return self.workers + self.queue

    @property
    def held(self) -> int:
        """Places taken now."""
        with self._lock:
            return self._held

    def full(self) -> bool:
        """Whether a ticket asked for now would be refused (a hint: it may change at once)."""
        return self.held >= self.capacity

    def busy(self) -> PoolBusy:
        """The error a refused request gets."""
        return PoolBusy(
            f"the viewer is busy: {self.capacity} analyses running or waiting "
            f"({self.workers} at a time, {self.queue} waiting); try again in a moment"
        )

    def ticket(self) -> Ticket:
        """Take a place now, or raise :class:`PoolBusy` if none is free."""
        with self._lock:
            if self._held >= self.capacity:
                raise self.busy()
            self._held += 1
        return Ticket(self)

    def bounded(self, func: F) -> F:
        """Decorate a (blocking) request handler so that it runs on a ticket.

        The wrapper is synchronous: the web framework runs it on a thread, where
        it waits for a running place; it keeps ``func``'s signature.
        """

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return self.ticket().run(func, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _give_back(self) -> None:
        with self._lock:
            self._held -= 1
            idle = self._held == 0
        if idle:
            _trim_heap()

    def shutdown(self) -> None:
        """Stop the worker threads once the work in hand is done."""
        self._executor.shutdown(wait=False, cancel_futures=True)


#: How much nicer than the server's own thread a worker thread runs (Linux: threads have their
#: own): under load the thread answering page and status requests wins the CPU (status p95
#: halved in benchmarks/viewer_burst.py runs side by side).
WORKER_NICENESS = 10


def _lower_priority() -> None:
    """Let the thread answering requests win the CPU over the analyses (where the OS allows it)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS)
    except (AttributeError, OSError):
        pass


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        trim = None
    return trim  # type: ignore[no-any-return]


_MALLOC_TRIM = _load_malloc_trim()


def _trim_heap() -> None:
    """Give freed heap memory back to the system (glibc only; elsewhere nothing)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class Ticket:
    """One place in a :class:`WorkPool`; given back once, after its work or by :meth:`cancel`."""

    def __init__(self, pool: WorkPool) -> None:
        self._pool = pool
        self._done = False
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Give the place back without running anything (idempotent)."""
        with self._lock:
            if self._done:
                return
            self._done = True
        self._pool._give_back()

    def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func`` on one of the pool's threads and wait for its result (blocking).

        The ticket is given back when ``func`` has finished.
        """
        try:
            future: Future[T] = self._pool._executor.submit(func, *args, **kwargs)
        except BaseException:
            self.cancel()
            raise
        future.add_done_callback(lambda _: self.cancel())
        return future.result()
