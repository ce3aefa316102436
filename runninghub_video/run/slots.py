"""The account's concurrency limit, shared by every run in this process.

RunningHub runs at most ``concurrentLimit`` tasks per account and its behaviour beyond that is
undocumented (a task may sit QUEUED, or the submit is refused with 421/1003/1011). Several nodes
of one prompt or a CLI batch therefore take a slot here before uploading and keep it until
their task ends (see ``pipeline._slot``), so the pack never depends on that undocumented behaviour.

Only this process is counted: tasks started elsewhere with the same key still share the
account's limit, and the caller's retry on 421/1003/1011 covers that case.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from ..core import errors
from ..core.events import CancelCheck, check_cancel
from ..core.waits import current as current_waits

log = logging.getLogger(__name__)

FALLBACK_LIMIT = 1  # when the limit was never fetched: one task at a time is always allowed


class SlotLimiter:
    """A counting gate whose size is the account's limit, fetched lazily and cached."""

    def __init__(self, fetch_limit: Callable[[], int], cache_s: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fetch_limit = fetch_limit  # replaceable: limiter_for swaps in the newest one (a new key)
        self.cache_s = cache_s
        self._clock = clock
        self._cond = threading.Condition()
        self._fetch_lock = threading.Lock()  # one fetch at a time; the others reuse its answer
        self._in_use = 0
        self._limit: int | None = None
        self._last_good: int | None = None
        self._fetched_at = 0.0

    @property
    def in_use(self) -> int:
        with self._cond:
            return self._in_use

    def limit(self) -> int:
        """The current limit (cached ``cache_s``); a failing fetch keeps the last known one."""
        with self._cond:
            if self._limit is not None and self._clock() - self._fetched_at < self.cache_s:
                return self._limit
        with self._fetch_lock:
            with self._cond:  # another thread may have refreshed while we waited for the fetch lock
                if self._limit is not None and self._clock() - self._fetched_at < self.cache_s:
                    return self._limit
            try:
                value = int(self.fetch_limit())
                if value < 1:
                    raise ValueError(f"concurrency limit {value} is not positive")
                self._last_good = value
            except Exception as exc:  # a status call must never stop a run
                value = self._last_good or FALLBACK_LIMIT
                # a rejected key is the run's own error to tell (first, in its words), not this one's
                quiet = isinstance(exc, (errors.AuthError, errors.KeyTypeError))
                log.log(logging.DEBUG if quiet else logging.WARNING,
                        "RunningHub concurrency limit unavailable (%s); using %d.", type(exc).__name__, value)
            with self._cond:
                self._limit, self._fetched_at = value, self._clock()
                self._cond.notify_all()  # a higher limit may let waiters in
            return value

    @contextmanager
    def acquire(self, should_cancel: CancelCheck | None = None,
                on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold one slot for the ``with`` body; wait (cancellably) while all are taken.

        ``on_wait`` is called once, when waiting starts, so the caller can say "waiting for a
        free slot". A cancel raises :class:`errors.Interrupted` within ``cancel_check_s`` (core/waits.py).
        """
        waiting = False
        while True:
            check_cancel(should_cancel)
            limit = self.limit()
            with self._cond:
                if self._in_use < limit:
                    self._in_use += 1
                    break
            if not waiting:
                waiting = True
                if on_wait is not None:
                    on_wait()  # outside the lock: the callback may be slow or re-enter
            with self._cond:
                if self._in_use >= limit:
                    self._cond.wait(current_waits().cancel_check_s)
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def occupy(self) -> Iterator[None]:
        """Count a task that already runs on RunningHub (resumed, or fetched by id) without waiting:
        it takes up one of the account's slots whether or not anyone waits for it, so new submits
        must wait for it too."""
        with self._cond:
            self._in_use += 1
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._in_use -= 1
            self._cond.notify_all()


_limiters: dict[str, SlotLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(account: str, fetch_limit: Callable[[], int]) -> SlotLimiter:
    """The one limiter of an ``account`` (any string naming site + key) in this process.

    Later calls keep the slot counts but use their ``fetch_limit``.
    """
    with _limiters_lock:
        limiter = _limiters.get(account)
        if limiter is None:
            limiter = _limiters[account] = SlotLimiter(fetch_limit)
        else:
            limiter.fetch_limit = fetch_limit
        return limiter
