"""The journal's record: an append-only copy of every row that may be paid, to rebuild the journal from.

SQLite keeps the journal, but a file can be emptied, scribbled over or replaced; then the journal
would forget submitted tasks and the next run would pay again. So every row that reached the
submit is also written here, as one JSON line per change (the row's columns, as the journal holds
them), before the submit leaves and after each answer, flushed to disk (``fsync``). The journal
notes how long this file was at its last write; a file longer than that means the journal missed
lines (it was replaced, emptied or restored from a copy) and is rebuilt from them. The last line of
a row wins. JSON lines rather than a second database: a torn last line (a crash while writing)
spoils only that line, and whatever damage SQLite takes, this file is not read by it.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from ..core.files import write_atomically
from ..core.store import FILE_MODE

log = logging.getLogger(__name__)
SUFFIX = ".record.jsonl"


class Record:
    """The record beside a journal file (``journal.sqlite3`` → ``journal.record.jsonl``)."""

    def __init__(self, journal_path: Path) -> None:
        self.path = Path(journal_path).with_suffix(SUFFIX)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:  # missing (or its folder cannot be reached: the journal says why)
            return 0

    def append(self, rows: Iterable[dict]) -> int:
        """Write one line per row and flush them to disk; returns the file's new size. Raises OSError."""
        lines = b"".join(_line(row) for row in rows)
        if not lines:
            return self.size()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE)
        try:
            if _ends_torn(self.path):  # a line cut by a crash: the next one starts on its own line
                lines = b"\n" + lines
            os.write(fd, lines)
            os.fsync(fd)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def rows(self) -> tuple[dict[int, dict], int]:
        """The last line of each row, by row id (in the order rows first appear), and how many
        lines could not be read (a torn or scribbled line)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}, 0
        rows: dict[int, dict] = {}
        unreadable = 0
        for raw in data.splitlines():
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                rows[int(row["id"])] = row
            except (ValueError, TypeError, KeyError):
                unreadable += 1
        return rows, unreadable

    def rewrite(self, rows: Iterable[dict]) -> int:
        """Replace the whole record by these rows (one line each); returns its new size. Raises OSError."""
        lines = b"".join(_line(row) for row in rows)

        def write(f: Any) -> None:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())

        write_atomically(self.path, write, private=True)
        return len(lines)


def _line(row: dict) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode() + b"\n"


def _ends_torn(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:
        return False
