"""The task journal: a paid video is never lost, even if ComfyUI crashes mid-wait.

A row is written *before* the submit (state ``submitting``), gets its task id right after the
submit returns, and follows the task to ``downloaded``. Re-running the same graph finds the row
by its fingerprint and resumes waiting or downloading instead of paying again.

Storage is one SQLite file (stdlib ``sqlite3``) in :func:`config.state_dir`, in WAL mode with a
busy timeout so several ComfyUI/CLI processes can share it; every call opens its own short-lived
connection, so one :class:`Journal` is safe to use from many threads.

States (a text column, so an unknown server state is stored as-is rather than lost):

=============  ==================================================================================
submitting     row written, submit not answered yet; without a task id the outcome is unknown
CREATE/QUEUED/ RunningHub's pending states (``facts.PENDING_STATES``) — worth resuming
RUNNING
SUCCESS        finished; ``result_url`` is downloadable for ``facts.RESULT_URL_LIFETIME_S``
FAILED/CANCEL  finished without a video (``error_code``/``error_message`` say why)
downloaded     the video is at ``video_path``
expired        the task or its result URL is gone (1004 or 24 h passed) and no file is kept
ambiguous      the submit may have reached RunningHub but no answer came (never re-sent blindly)
=============  ==================================================================================

The API key is never stored: ``request_json`` holds prompt, options and reference *hashes* only,
and every free text goes through :func:`config.redact` on the way in.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import config, facts
from .models import V1_LITE

JOURNAL_FILE = "journal.sqlite3"

# our states (RunningHub's own come from facts)
SUBMITTING = "submitting"
DOWNLOADED = "downloaded"
EXPIRED = "expired"
AMBIGUOUS = "ambiguous"
_NEVER_REUSABLE = frozenset({AMBIGUOUS, EXPIRED}) | facts.TERMINAL_FAILURE_STATES
_FINISHED = frozenset({facts.SUCCESS_STATE, DOWNLOADED, EXPIRED}) | facts.TERMINAL_FAILURE_STATES

# Reuse a result URL / pending task id only while at least this much of its 24 h life is left:
# enough time to finish waiting and download a large file before RunningHub forgets it.
REUSE_MARGIN_S = 2 * 3600
BUSY_TIMEOUT_MS = 10_000
RUN_TIME_SAMPLES = 20  # the median of the newest N comparable runs follows recent server speed
_FINGERPRINT_VERSION = 1

# Schema migrations: entry i brings user_version i to i + 1. Append, never edit, so an older
# journal upgrades in place and a newer one (from a later pack) is left alone.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS tasks (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        fingerprint   TEXT NOT NULL,
        site          TEXT NOT NULL,
        task_id       TEXT,
        state         TEXT NOT NULL,
        request_json  TEXT NOT NULL DEFAULT '{}',
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL,
        submitted_at  REAL,
        finished_at   REAL,
        result_url    TEXT,
        video_path    TEXT,
        cost          TEXT,
        currency      TEXT,
        error_code    TEXT,
        error_message TEXT,
        run_seconds   REAL,
        variation     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS tasks_fingerprint ON tasks (fingerprint, site);
    CREATE INDEX IF NOT EXISTS tasks_task_id ON tasks (task_id);
    """,
)

# Columns `update` may change; id/fingerprint/site/created_at identify a row and stay fixed.
_UPDATABLE = frozenset({
    "task_id", "state", "request", "submitted_at", "finished_at", "result_url", "video_path",
    "cost", "currency", "error_code", "error_message", "run_seconds", "variation",
})
_KEY_FIELDS = frozenset({"apikey", "api_key", "authorization", "key"})


def fingerprint(*, site: str, request_body_without_urls: dict, image_hashes: list[str], variation: int,
                model: str = V1_LITE.path) -> str:
    """Identity of "the same video request": upload URLs change per upload, content hashes do not.

    Reference order is kept (a prompt may say "the first image"); ``variation`` lets a user ask
    for a new paid video from identical inputs.
    """
    body = {k: v for k, v in request_body_without_urls.items() if k != "imageUrls"}
    payload = {"v": _FINGERPRINT_VERSION, "site": site, "model": model, "body": body,
               "images": list(image_hashes), "variation": int(variation)}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Row:
    id: int
    fingerprint: str
    site: str
    task_id: str | None
    state: str
    request: dict = field(compare=False)
    created_at: float
    updated_at: float
    submitted_at: float | None
    finished_at: float | None
    result_url: str | None
    video_path: str | None
    cost: str | None
    currency: str | None
    error_code: str | None
    error_message: str | None
    run_seconds: float | None
    variation: int

    @property
    def has_video(self) -> bool:
        """True when the downloaded file is still on disk (no download needed)."""
        return bool(self.video_path) and Path(self.video_path).is_file()


_ROW_COLUMNS = tuple(f.name if f.name != "request" else "request_json" for f in fields(Row))


# --- SQLite plumbing (also used by upload_cache) ------------------------------------------
@contextmanager
def open_db(path: Path, migrations: Sequence[str], *, write: bool) -> Iterator[sqlite3.Connection | None]:
    """A short-lived connection, migrated to the newest schema; commits on success, always closes.

    A read of a missing file yields ``None`` rather than creating folder and file, so looking
    never leaves state behind. Writes take the write lock up front (``BEGIN IMMEDIATE``): in WAL
    mode that makes a busy database wait for ``busy_timeout`` instead of failing at once.
    """
    if not path.exists():
        if not write:
            yield None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        _migrate(conn, migrations)
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


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
        conn.execute("ROLLBACK")
        raise


# --- the journal ---------------------------------------------------------------------------
class Journal:
    """Every submitted task, so waiting can resume and nothing paid is submitted twice."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config.state_dir() / JOURNAL_FILE
        self._lock = threading.Lock()  # serialises this process's writers; WAL handles other processes

    @contextmanager
    def _db(self, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        if not write:
            with open_db(self.path, _MIGRATIONS, write=False) as conn:
                yield conn
            return
        with self._lock, open_db(self.path, _MIGRATIONS, write=True) as conn:
            yield conn

    def begin(self, fingerprint: str, site: str, request: dict, variation: int) -> int:
        """Record the intent to submit, before the submit, and return the row id."""
        now = time.time()
        with self._db(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO tasks (fingerprint, site, state, request_json, created_at, updated_at, variation)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fingerprint, site, SUBMITTING, _request_json(request), now, now, int(variation)))
            return int(cursor.lastrowid)

    def set_task(self, row_id: int, task_id: str, state: str) -> None:
        """Attach the task id the moment the submit answers, so a crash while waiting loses nothing."""
        self.update(int(row_id), task_id=str(task_id), state=state, submitted_at=time.time())

    def update(self, task_id_or_row: str | int, **fields_: Any) -> int:
        """Change columns of a row (int id) or of every row of a task (str task id); returns rows changed.

        ``updated_at`` is set for you, and ``finished_at`` the first time a finished state is written.
        """
        unknown = set(fields_) - _UPDATABLE
        if unknown:
            raise TypeError(f"Journal.update got unknown field(s): {', '.join(sorted(unknown))}")
        now = time.time()
        values: dict[str, Any] = {}
        for name, value in fields_.items():
            if name == "request":
                values["request_json"] = _request_json(value)
            elif name in ("error_message", "error_code"):
                values[name] = None if value is None else config.redact(str(value))
            elif name == "run_seconds":
                values[name] = _to_float(value)
            elif name in ("cost", "currency", "task_id", "result_url", "video_path") and value is not None:
                values[name] = str(value)
            else:
                values[name] = value
        assignments = [f"{name} = ?" for name in values] + ["updated_at = ?"]
        params: list[Any] = [*values.values(), now]
        if values.get("state") in _FINISHED and "finished_at" not in values:
            assignments.append("finished_at = COALESCE(finished_at, ?)")
            params.append(now)
        where = "id = ?" if isinstance(task_id_or_row, int) else "task_id = ?"
        with self._db(write=True) as conn:
            cursor = conn.execute(f"UPDATE tasks SET {', '.join(assignments)} WHERE {where}",
                                  (*params, task_id_or_row))
            return cursor.rowcount

    def find_reusable(self, fingerprint: str, site: str, now: float | None = None) -> Row | None:
        """The newest row of this request that can still yield its video without paying again.

        Reusable: a task still pending (submitted less than 24 h minus a margin ago), a SUCCESS whose
        result URL has that much life left, or a downloaded row whose file is still on disk (or,
        with the file gone, whose URL is still fresh — check :attr:`Row.has_video`). Never reused:
        ``submitting`` without a task id, ``ambiguous``, ``expired``, FAILED, CANCEL.
        """
        now = time.time() if now is None else now
        return next((row for row in self._rows_of(fingerprint, site) if _reusable(row, now)), None)

    def latest(self, fingerprint: str, site: str) -> Row | None:
        """The newest row of this request whatever its state (e.g. an ``ambiguous`` submit)."""
        return next(iter(self._rows_of(fingerprint, site)), None)

    def _rows_of(self, fingerprint: str, site: str) -> list[Row]:
        with self._db(write=False) as conn:
            if conn is None:
                return []
            raws = conn.execute(f"SELECT {', '.join(_ROW_COLUMNS)} FROM tasks WHERE fingerprint = ? AND site = ?"
                                " ORDER BY created_at DESC, id DESC", (fingerprint, site)).fetchall()
        return [_row(raw) for raw in raws]

    def get(self, task_id: str, site: str | None = None) -> Row | None:
        """The newest row for a task id (the fetch command and node start here)."""
        sql = f"SELECT {', '.join(_ROW_COLUMNS)} FROM tasks WHERE task_id = ?"
        params: list[Any] = [str(task_id)]
        if site is not None:
            sql += " AND site = ?"
            params.append(site)
        with self._db(write=False) as conn:
            if conn is None:
                return None
            raw = conn.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT 1", params).fetchone()
        return _row(raw) if raw else None

    def list(self, limit: int = 50, site: str | None = None) -> list[Row]:
        """Newest rows first, for the CLI's history and a user hunting for a lost task id."""
        sql = f"SELECT {', '.join(_ROW_COLUMNS)} FROM tasks"
        params: list[Any] = []
        if site is not None:
            sql += " WHERE site = ?"
            params.append(site)
        with self._db(write=False) as conn:
            if conn is None:
                return []
            raws = conn.execute(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*params, int(limit))).fetchall()
        return [_row(raw) for raw in raws]

    def expected_run_seconds(self, site: str, resolution: str, duration: str | int,
                             model: str = V1_LITE.id) -> float | None:
        """Median RunningHub run time of recent successes of this model with these options, to pace
        polling. Reads ``model``/``resolution``/``duration`` from the stored request (rows from
        before the model was stored are v1-lite's)."""
        with self._db(write=False) as conn:
            if conn is None:
                return None
            raws = conn.execute(
                "SELECT request_json, run_seconds FROM tasks WHERE site = ? AND run_seconds IS NOT NULL"
                " AND state IN (?, ?) ORDER BY created_at DESC, id DESC",
                (site, facts.SUCCESS_STATE, DOWNLOADED)).fetchall()
        samples: list[float] = []
        for raw in raws:
            request = _load_request(raw["request_json"])
            if (request.get("model", V1_LITE.id) == model and request.get("resolution") == resolution
                    and str(request.get("duration")) == str(duration)):
                samples.append(float(raw["run_seconds"]))
                if len(samples) >= RUN_TIME_SAMPLES:
                    break
        return statistics.median(samples) if samples else None


def _reusable(row: Row, now: float) -> bool:
    if not row.task_id or row.state in _NEVER_REUSABLE:  # no task id: the submit's outcome is unknown
        return False
    life = facts.RESULT_URL_LIFETIME_S - REUSE_MARGIN_S
    if row.state == DOWNLOADED and row.has_video:
        return True
    if row.state in (facts.SUCCESS_STATE, DOWNLOADED):
        finished = row.finished_at or row.updated_at
        return bool(row.result_url) and now - finished < life
    # pending, or a state RunningHub added that we do not know: the task id is worth asking about
    return now - (row.submitted_at or row.created_at) < life


def _request_json(request: dict) -> str:
    """The request as stored: no key-like fields, no image bytes, every known secret masked."""
    cleaned = {k: v for k, v in dict(request or {}).items()
               if str(k).lower() not in _KEY_FIELDS and not isinstance(v, (bytes, bytearray, memoryview))}
    return config.redact(json.dumps(cleaned, sort_keys=True, ensure_ascii=False, default=str))


def _load_request(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _to_float(value: Any) -> float | None:
    """taskCostTime arrives as a string ("58") or null."""
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _row(raw: sqlite3.Row) -> Row:
    values = {name: raw[name] for name in raw.keys()}
    values["request"] = _load_request(values.pop("request_json"))
    return Row(**values)
