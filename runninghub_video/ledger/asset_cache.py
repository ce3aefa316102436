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

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..core.store import DamagedFile, open_db
from ..remote import config

log = logging.getLogger(__name__)

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

    @contextmanager
    def _db(self, *, write: bool):
        try:
            with open_db(self.path, _MIGRATIONS, write=write, what="asset cache") as conn:
                yield conn
        except DamagedFile as exc:  # moved aside; a lost id means one conversion made again
            log.warning("RunningHub: %s", exc)
            with open_db(self.path, _MIGRATIONS, write=write, what="asset cache") as conn:
                yield conn

    def get(self, sha256: str, endpoint: str) -> Entry | None:
        with self._db(write=False) as conn:
            if conn is None:
                return None
            row = conn.execute(f"SELECT {_COLUMNS} FROM assets WHERE sha256 = ? AND endpoint = ?",
                               (sha256, endpoint)).fetchone()
        return _entry(row) if row else None

    def begin(self, sha256: str, endpoint: str, *, site: str, kind: str, thumb: bytes | None) -> str:
        """Mark a create as sent (before sending it); returns the asset's name."""
        now, name = time.time(), asset_name(sha256)
        with self._db(write=True) as conn:
            conn.execute("INSERT OR REPLACE INTO assets (sha256, endpoint, site, kind, name, asset_id, state, thumb,"
                         " created_at, updated_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
                         (sha256, endpoint, site, kind, name, CREATING, thumb, now, now))
        return name

    def record(self, sha256: str, endpoint: str, asset_id: str, state: str, reason: str = "") -> None:
        """The asset id (kept before any wait) and its latest state."""
        with self._db(write=True) as conn:
            conn.execute("UPDATE assets SET asset_id = ?, state = ?, reason = ?, updated_at = ?"
                         " WHERE sha256 = ? AND endpoint = ?", (asset_id, state, reason, time.time(), sha256, endpoint))

    def forget(self, sha256: str, endpoint: str) -> None:
        if not self.path.exists():
            return
        with self._db(write=True) as conn:
            conn.execute("DELETE FROM assets WHERE sha256 = ? AND endpoint = ?", (sha256, endpoint))

    def entries(self) -> list[Entry]:
        """Every converted reference, newest first (the RunningHub tab)."""
        with self._db(write=False) as conn:
            if conn is None:
                return []
            rows = conn.execute(f"SELECT {_COLUMNS} FROM assets ORDER BY created_at DESC").fetchall()
        return [_entry(r) for r in rows]

    def find(self, endpoint: str, asset_id: str) -> Entry | None:
        with self._db(write=False) as conn:
            if conn is None or not asset_id:
                return None
            row = conn.execute(f"SELECT {_COLUMNS} FROM assets WHERE endpoint = ? AND asset_id = ?",
                               (endpoint, asset_id)).fetchone()
        return _entry(row) if row else None

    def thumb(self, endpoint: str, asset_id: str) -> bytes | None:
        with self._db(write=False) as conn:
            if conn is None:
                return None
            row = conn.execute("SELECT thumb FROM assets WHERE endpoint = ? AND asset_id = ?",
                               (endpoint, asset_id)).fetchone()
        return bytes(row["thumb"]) if row and row["thumb"] else None


_COLUMNS = ("sha256, endpoint, site, kind, name, asset_id, state, reason, created_at, updated_at,"
            " thumb IS NOT NULL AS has_thumb")


def _entry(row) -> Entry:
    return Entry(row["sha256"], row["endpoint"], row["site"], row["kind"], row["name"], row["asset_id"], row["state"],
                 row["reason"], row["created_at"], row["updated_at"], bool(row["has_thumb"]))
