"""A bounded pool for the viewer's heavy work (decoding, candidates, analyses).

Every request that decodes an image or runs a pipeline stage takes a *ticket*
before it does anything else (before an upload's body is even read): at most
``workers`` of them run at a time, at most ``queue`` more wait, and a request
that finds every place taken is answered at once with 429 and ``Retry-After``.
Page, status and feature requests take no ticket, so they stay fast however many
analyses are asked for, and the memory held for work in flight is bounded by
``workers + queue``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
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
        self._running = threading.BoundedSemaphore(self.workers)
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

    def ticket(self) -> Ticket:
        """Take a place now, or raise :class:`PoolBusy` if none is free."""
        with self._lock:
            if self._held >= self.capacity:
                raise PoolBusy(
                    f"the viewer is busy: {self._held} analyses running or waiting "
                    f"({self.workers} at a time, {self.queue} waiting); try again in a moment"
                )
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
        """Wait for a running place, run ``func`` (blocking), then give the ticket back."""
        try:
            with self._pool._running:
                return func(*args, **kwargs)
        finally:
            self.cancel()
