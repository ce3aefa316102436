"""References converted for real-person handling, by content hash: the asset id and its state.

Beside the upload cache, in a file of its own, but not disposable like it: an asset id written
here the moment RunningHub hands it out is what lets a later run (after Cancel, a crash or a
restart) pick up the same conversion instead of starting a second one. Whether assets cost
anything, and how long they live, is unknown [U]: the run layer asks RunningHub about a cached
asset before using it and converts again when it is gone.

States: ``creating`` (the create call went out, no id came back yet: look for it by ``name``
before creating again), then RunningHub's own (PROCESSING, ACTIVE, FAILED, …).
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from ..core.store import use_disposable
from ..remote import config

T = TypeVar("T")

CACHE_FILE = "assets.sqlite3"
CREATING = "creating"

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS assets (
        sha256      TEXT NOT NULL,
        endpoint    TEXT NOT NULL,
        site        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        asset_id    TEXT NOT NULL DEFAULT '',
        state       TEXT NOT NULL,
        reason      TEXT NOT NULL DEFAULT '',
        thumb       BLOB,
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL,
        PRIMARY KEY (sha256, endpoint)
    );
    """,
)


@dataclass(frozen=True)
class Entry:
    sha256: str
    endpoint: str
    site: str
    kind: str
    name: str
    asset_id: str
    state: str
    reason: str
    created_at: float
    updated_at: float
    has_thumb: bool


def asset_name(sha256: str) -> str:
    """The name an asset of this content gets on RunningHub: how a lost create answer is found again."""
    return f"comfyui-{sha256[:24]}"


class AssetCache:
    """sha256 + endpoint → the asset made of that content on that RunningHub."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config.state_dir() / CACHE_FILE

    def _use(self, work: Callable[[sqlite3.Connection | None], T], *, write: bool) -> T:
        """``work(conn)`` in one transaction; a damaged file is moved aside (a lost id costs one
        conversion made again)."""
        return use_disposable(self.path, _MIGRATIONS, work, write=write, what="asset cache")

    def get(self, sha256: str, endpoint: str) -> Entry | None:
        return self._use(lambda conn: _one(conn, "sha256 = ? AND endpoint = ?", (sha256, endpoint)), write=False)

    def begin(self, sha256: str, endpoint: str, *, site: str, kind: str, thumb: bytes | None) -> str:
        """Mark a create as sent (before sending it); returns the asset's name."""
        now, name = time.time(), asset_name(sha256)
        self._use(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO assets (sha256, endpoint, site, kind, name, asset_id, state, thumb, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
            (sha256, endpoint, site, kind, name, CREATING, thumb, now, now)), write=True)
        return name

    def record(self, sha256: str, endpoint: str, asset_id: str, state: str, reason: str = "") -> None:
        """The asset id (kept before any wait) and its latest state."""
        self._use(lambda conn: conn.execute(
            "UPDATE assets SET asset_id = ?, state = ?, reason = ?, updated_at = ? WHERE sha256 = ? AND endpoint = ?",
            (asset_id, state, reason, time.time(), sha256, endpoint)), write=True)

    def forget(self, sha256: str, endpoint: str) -> None:
        if self.path.exists():  # nothing cached: do not create state just to delete from it
            self._use(lambda conn: conn.execute("DELETE FROM assets WHERE sha256 = ? AND endpoint = ?",
                                                (sha256, endpoint)), write=True)

    def entries(self) -> list[Entry]:
        """Every converted reference, newest first (the RunningHub tab)."""
        return self._use(lambda conn: [] if conn is None else [_entry(r) for r in conn.execute(
            f"SELECT {_COLUMNS} FROM assets ORDER BY created_at DESC")], write=False)

    def find(self, endpoint: str, asset_id: str) -> Entry | None:
        if not asset_id:
            return None
        return self._use(lambda conn: _one(conn, "endpoint = ? AND asset_id = ?", (endpoint, asset_id)), write=False)

    def thumb(self, endpoint: str, asset_id: str) -> bytes | None:
        def read(conn: sqlite3.Connection | None) -> bytes | None:
            row = conn and conn.execute("SELECT thumb FROM assets WHERE endpoint = ? AND asset_id = ?",
                                        (endpoint, asset_id)).fetchone()
            return bytes(row["thumb"]) if row and row["thumb"] else None

        return self._use(read, write=False)


_COLUMNS = ("sha256, endpoint, site, kind, name, asset_id, state, reason, created_at, updated_at,"
            " thumb IS NOT NULL AS has_thumb")


def _one(conn: sqlite3.Connection | None, where: str, args: tuple) -> Entry | None:
    row = conn and conn.execute(f"SELECT {_COLUMNS} FROM assets WHERE {where}", args).fetchone()
    return _entry(row) if row else None


def _entry(row) -> Entry:
    return Entry(row["sha256"], row["endpoint"], row["site"], row["kind"], row["name"], row["asset_id"], row["state"],
                 row["reason"], row["created_at"], row["updated_at"], bool(row["has_thumb"]))
