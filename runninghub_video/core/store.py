"""The pack's state on disk: a private folder, SQLite files opened safely, damage moved aside.

Journal and upload cache both live here. Folder 0700 and files 0600 where the OS has POSIX modes;
on Windows they sit in the user's profile (APPDATA or ComfyUI's user folder), whose ACLs already
keep other users out, and ``chmod`` would only toggle read-only, so it is not called there.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

from .errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")
POSIX_MODES = os.name != "nt"
DIR_MODE = 0o700
FILE_MODE = 0o600
BUSY_TIMEOUT_MS = 10_000
FULL_BELOW_BYTES = 1024 * 1024  # a database that cannot be written on a disk with less free space: "disk full"
# errno of a write that failed for want of space (a quota too); Windows' ERROR_DISK_FULL arrives as ENOSPC
DISK_FULL = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)
_FREE_SPACE = "Free some space on it, or set RUNNINGHUB_STATE_DIR to a folder on another disk."
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# What SQLite says of a file that is not (or no longer) a database this pack can use: damaged
# pages, or tables of an unknown schema (another program's file, a pack from another line).
_DAMAGE_SIGNS = ("malformed", "not a database", "no such table", "no such column", "has no column named",
                 "duplicate column name")


def ensure_private_dir(folder: Path) -> Path:
    """Create ``folder`` (0700 if this call creates it) and prove it writable, or raise ConfigError.

    Called before anything is uploaded or paid, so an unwritable state folder costs nothing."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if created and POSIX_MODES:
            os.chmod(folder, DIR_MODE)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise StateError(f"The disk holding the pack's state folder {folder} is full.", advice=_FREE_SPACE,
                             code="state_full", details={"folder": str(folder)}) from None
        raise StateError(f"The pack's state folder {folder} is not writable ({exc.strerror or exc}).",
                         advice="Fix its permissions or set RUNNINGHUB_STATE_DIR to a writable folder.",
                         code="state_unwritable", details={"folder": str(folder)}) from None
    return folder


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 before SQLite opens it (SQLite gives its -wal/-shm the same mode)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
        os.close(fd)
        if POSIX_MODES:
            os.chmod(path, FILE_MODE)
    except FileExistsError:
        pass


def move_aside(path: Path) -> Path:
    """Rename a damaged file (and SQLite's side files) to ``<name>.damaged-<time>``; returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, target)
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


class StateError(ConfigError):
    """The state folder or one of its databases cannot be written (permissions, a full disk, a lock).

    Its words say only what is wrong here: whether anything was sent or paid is for the caller to say
    (the run knows: before its claim nothing was, after its submit a task is paid)."""


class DamagedFile(ConfigError):
    """A state file could not be read and was moved aside (``moved_to``)."""

    def __init__(self, message: str, *, moved_to: Path, advice: str = "") -> None:
        super().__init__(message, advice=advice)
        self.moved_to = moved_to


@contextmanager
def open_db(path: Path, migrations: Sequence[str], *, write: bool,
            what: str = "database") -> Iterator[sqlite3.Connection | None]:
    """A short-lived connection, migrated to the newest schema; commits on success, always closes.

    A read of a missing file yields ``None`` rather than creating folder and file, so looking
    never leaves state behind. Writes take the write lock up front (``BEGIN IMMEDIATE``): in WAL
    mode that makes a busy database wait for ``busy_timeout`` instead of failing at once, and it
    makes a read-then-write (the journal's claim) atomic across threads and processes.

    A file that is not a database is moved aside and :class:`DamagedFile` raised; a folder or
    file that cannot be written raises :class:`ConfigError` naming it.
    """
    path = Path(path)
    if not path.exists():
        if not write:
            yield None
            return
        ensure_private_dir(path.parent)
        create_private_file(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise _unusable(path, what, exc) from None
    try:
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _use_wal(conn)
            _migrate(conn, migrations)
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            conn.close()
            raise _unusable(path, what, exc) from None
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            _roll_back(conn)
            # A journal from a newer pack, a full disk (OperationalError); damage found mid-query
            # ("database disk image is malformed": the base class). Not a mistake in a query.
            if type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError):
                conn.close()  # closed before a damaged file is moved aside (Windows cannot move an open file)
                raise _unusable(path, what, exc) from None
            raise
        except BaseException:
            _roll_back(conn)
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _unusable(path, what, exc) from None
    finally:
        conn.close()


def _roll_back(conn: sqlite3.Connection) -> None:
    """Undo the open transaction while another error is on its way out. SQLite may have ended the
    transaction itself (a full disk, an I/O error); then ROLLBACK fails, and that failure must not
    replace the error the caller needs to see."""
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        log.debug("RunningHub: rollback after an error failed too (%s).", exc)


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a new database to WAL. The switch needs the file to itself and SQLite answers "locked"
    at once (without the busy timeout) while another connection is making the same switch, so that
    answer is waited out here for up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _unusable(path: Path, what: str, exc: sqlite3.Error) -> ConfigError:
    """The error to raise for a database that cannot be used: damaged (moved aside) or unwritable."""
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) or \
            any(sign in text for sign in _DAMAGE_SIGNS):
        try:
            moved = move_aside(path)
        except OSError as move_exc:
            return ConfigError(f"The {what} {path} is damaged ({text}) and could not be moved aside "
                               f"({move_exc.strerror or move_exc}).", advice="Move or delete it by hand.")
        return DamagedFile(f"The {what} {path} was damaged ({text}); it was moved to {moved.name} and a new "
                           "one will be started.", moved_to=moved,
                           advice="Nothing was uploaded or charged by this run; queue again.")
    if "locked" in text or "busy" in text:
        return StateError(f"The {what} {path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s.",
                          advice="Try again.")
    if "full" in text or _disk_full(path):  # a full disk often reads as "disk I/O error" (the WAL cannot grow)
        return StateError(f"The disk holding the {what} {path} is full ({text}).", advice=_FREE_SPACE,
                          code="state_full", details={"folder": str(path.parent)})
    return StateError(f"The {what} {path} cannot be opened or written ({text}).",
                      advice="Fix the permissions of the state folder or set RUNNINGHUB_STATE_DIR to a writable folder.",
                      code="state_unwritable", details={"folder": str(path.parent)})


def _disk_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < FULL_BELOW_BYTES
    except OSError:
        return False


def _migrate(conn: sqlite3.Connection, migrations: Sequence[str]) -> None:
    if conn.execute("PRAGMA user_version").fetchone()[0] >= len(migrations):
        return
    conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see the new version
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, len(migrations)):
            for statement in migrations[number].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise


def use_disposable(path: Path, migrations: Sequence[str], work: Callable[[sqlite3.Connection | None], T], *,
                   write: bool, what: str) -> T:
    """``work(conn)`` in one transaction on a file whose loss costs only work done again (a cache):
    damage found on opening or mid-query is moved aside by :func:`open_db`, logged, and ``work``
    runs once more on a fresh file."""
    try:
        with open_db(path, migrations, write=write, what=what) as conn:
            return work(conn)
    except DamagedFile as exc:
        log.warning("RunningHub: %s", exc)
    with open_db(path, migrations, write=write, what=what) as conn:
        return work(conn)
