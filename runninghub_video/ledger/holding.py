"""What this process holds: the claims it keeps alive (:class:`Holder`: heartbeats, then the
release) and the tasks it waits on (:func:`following`: the tab offers no second recovery of them).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..core.waits import current as current_waits

if TYPE_CHECKING:
    from .journal import Journal

log = logging.getLogger(__name__)

_let_go: set[tuple[str, int]] = set()  # (journal, row) this process stopped holding but could not release
_let_go_lock = threading.Lock()


def was_let_go(journal_path: Path, row_id: int) -> bool:
    """Whether this process stopped holding the row without being able to write so (a full state
    disk): its next run does not wait on the row forever."""
    with _let_go_lock:
        return (str(journal_path), int(row_id)) in _let_go


class Holder:
    """Keeps a claim alive: heartbeats while held (by the run, and by a submit still in flight
    after a Cancel), then releases the row when the last holder lets go."""

    def __init__(self, journal: Journal, row_id: int) -> None:
        self.journal, self.row_id = journal, int(row_id)
        with _let_go_lock:
            _let_go.discard((str(journal.path), self.row_id))
        self._count = 1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._beat, name="runninghub-claim-heartbeat", daemon=True).start()

    def add(self) -> Holder:
        with self._lock:
            self._count += 1
        return self

    def done(self) -> None:
        with self._lock:
            self._count -= 1
            last = self._count == 0
        if last:
            self._stop.set()
            try:
                self.journal.release(self.row_id)
            except Exception:  # never hide the run's own outcome; other processes see the heartbeat stop
                log.warning("RunningHub: could not release journal row %s", self.row_id, exc_info=True)
                with _let_go_lock:
                    _let_go.add((str(self.journal.path), self.row_id))

    def _beat(self) -> None:
        while not self._stop.wait(current_waits().heartbeat_s):
            try:
                self.journal.heartbeat(self.row_id)
            except Exception:  # a busy journal now and then is fine: staleness needs many misses
                log.debug("RunningHub: heartbeat of row %s failed", self.row_id, exc_info=True)


# --- tasks this process waits on ------------------------------------------------------------
_followed: dict[str, int] = {}  # task id -> how many waits of this process follow it
_followed_lock = threading.Lock()


@contextmanager
def following(task_id: str) -> Iterator[None]:
    """Mark a task as waited on by this process (the tab then offers no second recovery of it)."""
    with _followed_lock:
        _followed[task_id] = _followed.get(task_id, 0) + 1
    try:
        yield
    finally:
        with _followed_lock:
            _followed[task_id] -= 1
            if not _followed[task_id]:
                del _followed[task_id]


def is_followed(task_id: str | None) -> bool:
    with _followed_lock:
        return bool(task_id) and task_id in _followed


