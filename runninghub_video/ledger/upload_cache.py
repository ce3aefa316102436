"""Uploaded reference URLs by content hash, so re-running a graph uploads nothing new.

A URL is reused for ``facts.UPLOAD_CACHE_TTL_S`` (well inside its ~1 day life). If RunningHub
still cannot read one (1013, at submit or as a task failure), the caller calls
:meth:`UploadCache.forget` and the next upload of that content is a fresh one.

Kept in its own file, not the journal's: the cache is disposable — deleting or losing it only
costs a re-upload — while the journal protects paid videos, so a cache problem (corruption,
a user clearing it) must never touch the journal. A damaged cache file is moved aside and the
run carries on with an empty cache.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Callable, TypeVar

from ..remote import config, facts
from ..core.store import use_disposable

T = TypeVar("T")

CACHE_FILE = "upload_cache.sqlite3"

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS uploads (
        sha256      TEXT NOT NULL,
        site        TEXT NOT NULL,
        url         TEXT NOT NULL,
        size        INTEGER NOT NULL,
        uploaded_at REAL NOT NULL,
        PRIMARY KEY (sha256, site)
    );
    CREATE INDEX IF NOT EXISTS uploads_url ON uploads (url);
    """,
    # 2: without the never-read ``size`` column. The cache is disposable (see above), so the table
    # is made afresh rather than copied: the price of a re-upload, once.
    """
    DROP TABLE IF EXISTS uploads;
    CREATE TABLE uploads (
        sha256      TEXT NOT NULL,
        site        TEXT NOT NULL,
        url         TEXT NOT NULL,
        uploaded_at REAL NOT NULL,
        PRIMARY KEY (sha256, site)
    );
    CREATE INDEX uploads_url ON uploads (url);
    """,
)


class UploadCache:
    """sha256 + endpoint → a still-fresh upload URL (each RunningHub keeps its own storage and keys).

    (The key column is still called ``site``: it holds :attr:`config.Settings.endpoint`.)"""

    def __init__(self, path: Path | None = None, ttl_s: float = facts.UPLOAD_CACHE_TTL_S) -> None:
        self.path = Path(path) if path is not None else config.state_dir() / CACHE_FILE
        self.ttl_s = ttl_s

    def _use(self, work: Callable[[sqlite3.Connection | None], T], *, write: bool) -> T:
        """``work(conn)`` in one transaction. A damaged file (found on opening or mid-query; moved
        aside by :func:`open_db`) costs only re-uploads: ``work`` runs again on a fresh file."""
        return use_disposable(self.path, _MIGRATIONS, work, write=write, what="upload cache")

    def get(self, sha256: str, site: str, now: float | None = None) -> str | None:
        """The URL of this content on this site, if uploaded less than ``ttl_s`` ago."""
        now = time.time() if now is None else now

        def read(conn: sqlite3.Connection | None) -> str | None:
            row = conn and conn.execute("SELECT url FROM uploads WHERE sha256 = ? AND site = ? AND uploaded_at > ?",
                                        (sha256, site, now - self.ttl_s)).fetchone()
            return row["url"] if row else None

        return self._use(read, write=False)

    def put(self, sha256: str, site: str, url: str, now: float | None = None) -> None:
        """Remember a fresh upload (replacing an older one) and drop entries past their TTL."""
        now = time.time() if now is None else now

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO uploads (sha256, site, url, uploaded_at) VALUES (?, ?, ?, ?)",
                         (sha256, site, url, now))
            conn.execute("DELETE FROM uploads WHERE uploaded_at <= ?", (now - self.ttl_s,))

        self._use(write, write=True)

    def forget(self, sha256: str, site: str) -> None:
        """Forget the upload of this content that RunningHub could not read, so the next run uploads it again."""
        if not self.path.exists():  # nothing cached; do not create state just to delete from it
            return
        self._use(lambda conn: conn.execute("DELETE FROM uploads WHERE sha256 = ? AND site = ?", (sha256, site)),
                  write=True)
