"""Opening the task journal's SQLite file: before a call first reads or writes it, the journal an
earlier version kept elsewhere is taken in (once per process), and the file is checked against its
record: rebuilt when it missed lines, moved aside and rebuilt when damaged. Damage met in the
middle of a call does the same, and the call is made once more (:func:`rebuilt_on_damage`).

Storage: one SQLite file in :func:`config.state_dir` (see :mod:`..core.store`), WAL mode, one short
connection per call, so one journal object is safe from many threads and processes.
"""
from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from ..remote import config
from ..core.errors import ConfigError
from ..core.store import DamagedFile, open_db
from . import earlier_journal
from .record import Record
from .record_keeping import RECORD_COMPACT_AT, RecordKeeper, damage_notice
from .task_table import MIGRATIONS

log = logging.getLogger(__name__)
T = TypeVar("T")

JOURNAL_FILE = "journal.sqlite3"
_RECOVER_BY_HAND = ("Before queuing again, look for tasks of the last 24 hours in the call records of your API "
                    "console (log in → API console → call records) and get their videos with the RunningHub Fetch "
                    "Task node or `python -m runninghub_video fetch ID`: the journal cannot tell which requests "
                    "were already paid.")

# What this process found, per journal path
_verified: dict[Path, tuple] = {}  # its files as this process last found them in step
_checked: dict[Path, Any] = {}  # the journal file as last integrity-checked
_moved_aside: dict[Path, Path] = {}  # where its damaged file went, until the rebuild says so
_adopting = threading.Lock()
_adopted: set[Path] = set()  # earlier journals this process has taken in (or found unreadable)


def rebuilt_on_damage(method: Callable[..., T]) -> Callable[..., T]:
    """Damage met in the middle of a journal call moves the file aside (store.open_db); the call is
    made once more, on the journal rebuilt from its record. No raw SQLite error leaves the journal."""
    @functools.wraps(method)
    def call(self: JournalFile, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except DamagedFile as exc:
            _moved_aside[self.path] = exc.moved_to
        try:
            return method(self, *args, **kwargs)
        except DamagedFile as exc:
            raise ConfigError(f"The task journal {self.path} was damaged twice (kept as {exc.moved_to.name}).",
                              advice=_RECOVER_BY_HAND) from None
    return call


class JournalFile:
    """The journal at ``path`` (default: the user's state folder) and its record, opened safely."""

    def __init__(self, path: Path | None = None, *, compact_record_at: int = RECORD_COMPACT_AT) -> None:
        self.path = Path(path) if path is not None else config.state_dir() / JOURNAL_FILE
        self._lock = threading.Lock()  # serialises this process's writers; WAL handles other processes
        self._keeper = RecordKeeper(self.path, compact_at=compact_record_at)
        earlier = config.earlier_state_dir()
        self._earlier = earlier / JOURNAL_FILE if path is None and earlier is not None else None

    @contextmanager
    def _db(self, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        """A connection in step with the record: a write transaction (``BEGIN IMMEDIATE``) or a read,
        which is None while there is no journal yet (a look never creates it)."""
        self._adopt_earlier()
        self._verify()
        if not write:
            with open_db(self.path, MIGRATIONS, write=False, what="task journal") as conn:
                yield conn
            return
        with self._writing() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock, open_db(self.path, MIGRATIONS, write=True, what="task journal") as conn:
            yield conn

    def _adopt_earlier(self) -> None:
        """Once per process: copy the journal an earlier version kept in ComfyUI's user folder
        (see :mod:`.earlier_journal`) before this one is first read or written."""
        earlier = self._earlier
        if earlier is None or earlier.resolve() == self.path.resolve():
            return
        with _adopting:
            if earlier in _adopted or not earlier.exists():
                return
            try:
                with self._writing() as conn:
                    before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM tasks").fetchone()[0]
                    copied = earlier_journal.adopt(conn, earlier)
                    if copied:
                        self._keeper.rewrite(conn)  # the rows taken in are in the record too
                    self._keeper.append(conn, "id > ?", (before,))  # the record protects them from now on too
            except sqlite3.Error as exc:
                log.warning("RunningHub: the earlier journal %s could not be read (%s); left where it is.",
                            earlier, exc)
                _adopted.add(earlier)
                return
            earlier_journal.put_away(earlier)
            _adopted.add(earlier)
        log.info("RunningHub: %d task(s) of the journal in %s now live in %s.", copied, earlier, self.path)

    def _verify(self) -> None:
        """Before the journal is used: rebuild it from its record if it missed lines (emptied,
        replaced, restored from a copy), or move it aside and rebuild it if it is damaged.

        Skipped while neither file changed since this process last looked (an integrity check
        runs only when the journal file itself changed)."""
        key = _files_key(self.path, self._keeper.record)
        if _verified.get(self.path) == key or (key[0] is None and not key[1]):
            return  # in step, or nothing at all yet (a look never creates the journal)
        moved: Path | None = None
        for attempt in (1, 2):
            try:
                with self._writing() as conn:
                    if _checked.get(self.path) != key[0] and key[0] is not None:
                        problem = str(conn.execute("PRAGMA quick_check(1)").fetchone()[0])
                        if problem != "ok":
                            raise sqlite3.DatabaseError(f"database disk image is malformed ({problem})")
                    restored = self._keeper.sync(conn, moved)
                break
            except DamagedFile as exc:
                if attempt == 2:
                    raise ConfigError(f"The task journal {self.path} was damaged, moved to {moved.name if moved else '?'}"
                                      f", and could not be rebuilt ({exc}).", advice=_RECOVER_BY_HAND) from None
                moved = exc.moved_to
        moved = moved or _moved_aside.pop(self.path, None)
        if restored or moved:
            log.warning("RunningHub: %s", damage_notice(self.path, moved, restored))
        key = _files_key(self.path, self._keeper.record)
        _verified[self.path], _checked[self.path] = key, key[0]


def _files_key(path: Path, record: Record) -> tuple:
    """The journal file (None when missing) and the record's size, as they stand."""
    try:
        stat = path.stat()
        journal = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:  # missing, or its folder cannot be reached (open_db then says why)
        journal = None
    return journal, record.size()
