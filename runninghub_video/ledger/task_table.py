"""The journal's table of tasks: its schema (and how an older file upgrades), the :class:`Row` each
of its lines reads as, and how values go in and come out: the request without keys or bytes, free text
redacted, money as exact text with its currency.

``select``, ``one`` and ``set_columns`` work inside a transaction the journal opened.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

from ..remote import facts
from ..remote.wire import seconds
from ..core.money import Money, parse as parse_money
from ..core.processes import pid_exists
from ..core.redaction import redact
from ..core.waits import current as current_waits

# our states (RunningHub's own come from facts; journal.py says what each one means)
UPLOADING = "uploading"
SUBMITTING = "submitting"
DOWNLOADED = "downloaded"
EXPIRED = "expired"
AMBIGUOUS = "ambiguous"
REJECTED = "rejected"
ABANDONED = "abandoned"
UNANSWERED = (UPLOADING, SUBMITTING)  # a claim without a task id
FINISHED = frozenset({facts.SUCCESS_STATE, DOWNLOADED, EXPIRED}) | facts.TERMINAL_FAILURE_STATES

# This process, as written into the rows it owns. The token tells this process from an earlier
# one that had the same pid (pids are reused, and a container's main process is often pid 1).
HOST = socket.gethostname()
PROCESS_TOKEN = uuid.uuid4().hex

# Schema migrations: entry i brings user_version i to i + 1. Append, never edit, so an older
# journal upgrades in place and a newer one (from a later pack) is left alone.
MIGRATIONS: tuple[str, ...] = (
    # 1 (``cost`` is the charge as decimal text, "0.75"; ``currency`` its code, written since money
    # became typed: rows of older versions have NULL there and read as the site's currency)
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
    # 2: the endpoint (site + address) a row belongs to, the model, and the claim's owner.
    # Rows from version 1 get endpoint '' and are never matched by a new request again (they may
    # have been made against an emulator or proxy); fetch by task id still finds them.
    """
    ALTER TABLE tasks ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
    ALTER TABLE tasks ADD COLUMN model TEXT NOT NULL DEFAULT '';
    ALTER TABLE tasks ADD COLUMN owner_host TEXT;
    ALTER TABLE tasks ADD COLUMN owner_pid INTEGER;
    ALTER TABLE tasks ADD COLUMN owner_token TEXT;
    ALTER TABLE tasks ADD COLUMN heartbeat_at REAL;
    UPDATE tasks SET state = 'ambiguous' WHERE task_id IS NULL AND state IN ('uploading', 'submitting');
    CREATE INDEX IF NOT EXISTS tasks_claims ON tasks (fingerprint, endpoint);
    CREATE UNIQUE INDEX IF NOT EXISTS tasks_one_unanswered_claim ON tasks (fingerprint, endpoint)
        WHERE task_id IS NULL AND state IN ('uploading', 'submitting');
    """,
    # 3: when the task started RUNNING (epoch, best guess between two answers); queue time = running_at - submitted_at
    "ALTER TABLE tasks ADD COLUMN running_at REAL",
    # 4: the batch a row was made for (the CLI's batch file, or one list run of a ComfyUI node): its id,
    # its name as the tab shows it, and the item within it ("line 3 · variation 1")
    """
    ALTER TABLE tasks ADD COLUMN batch_id TEXT;
    ALTER TABLE tasks ADD COLUMN batch_name TEXT;
    ALTER TABLE tasks ADD COLUMN batch_item TEXT;
    CREATE INDEX IF NOT EXISTS tasks_batch ON tasks (batch_id);
    """,
    # 5: the price a run was checked against (preview or table, amount text in the site's currency):
    # the daily budget counts it while the task's charge is not reported
    "ALTER TABLE tasks ADD COLUMN price TEXT",
    # 6: how long the journal's record (record.py) was when this journal last wrote to it; -1: never
    """
    CREATE TABLE IF NOT EXISTS record_state (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL);
    INSERT OR IGNORE INTO record_state (id, size) VALUES (1, -1);
    """,
)
# Columns `Journal.update` may change; id/fingerprint/site/created_at identify a row and stay fixed.
UPDATABLE = frozenset({
    "task_id", "state", "request", "submitted_at", "finished_at", "result_url", "video_path",
    "cost", "error_code", "error_message", "run_seconds", "variation", "running_at", "price",
})
_KEY_FIELDS = frozenset({"apikey", "api_key", "authorization", "key"})


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
    cost: Money | None  # written as amount text + currency code; read back exact (see _read_cost)
    error_code: str | None
    error_message: str | None
    run_seconds: float | None
    variation: int
    endpoint: str = ""
    model: str = ""
    owner_host: str | None = None
    owner_pid: int | None = None
    owner_token: str | None = None
    heartbeat_at: float | None = None
    running_at: float | None = None
    batch_id: str | None = None
    batch_name: str | None = None
    batch_item: str | None = None
    price: Money | None = None  # what the budget counted this run at (see migration 5)

    @property
    def has_video(self) -> bool:
        """True when the downloaded file is still on disk (no download needed)."""
        return bool(self.video_path) and Path(self.video_path).is_file()

    @property
    def unanswered(self) -> bool:
        """A claim whose submit has not answered (or not been sent): no task id yet."""
        return not self.task_id and self.state in UNANSWERED

    def owner_alive(self, now: float | None = None) -> bool:
        """Whether the process that holds this row is still working on it (see "Owners" in journal.py)."""
        if not self.owner_token:
            return False
        if self.owner_token == PROCESS_TOKEN:
            return True
        now = time.time() if now is None else now
        if now - (self.heartbeat_at or 0.0) > current_waits().stale_after_s:
            return False
        if self.owner_host == HOST and self.owner_pid is not None:
            return self.owner_pid != os.getpid() and pid_exists(self.owner_pid)
        return True


@dataclass(frozen=True)
class FinishedTask:
    """A successful task as the estimate sees it."""
    request: dict
    queue_s: float | None
    run_s: float | None


_ROW_COLUMNS = tuple(f.name if f.name != "request" else "request_json" for f in fields(Row)) + ("currency",)


@dataclass(frozen=True)
class BatchTag:
    """The batch a new row is made for: ``id`` groups its rows, ``name`` titles the group in the
    tab, ``item`` names this row's place in it."""
    id: str
    name: str
    item: str


def select(conn: sqlite3.Connection, where: str, params: Sequence[Any], limit: int | None = None) -> list[Row]:
    """The rows matching ``where``, newest first."""
    sql = f"SELECT {', '.join(_ROW_COLUMNS)} FROM tasks WHERE {where} ORDER BY created_at DESC, id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_row(raw) for raw in conn.execute(sql, tuple(params)).fetchall()]


def one(conn: sqlite3.Connection, row_id: int) -> Row | None:
    rows = select(conn, "id = ?", (int(row_id),))
    return rows[0] if rows else None


def set_columns(conn: sqlite3.Connection, row_id: int | None, now: float, *, where: tuple | None = None,
                **fields_: Any) -> int:
    """Write ``fields_`` (as :meth:`Journal.update` names them) into row ``row_id``, or into the rows
    ``where`` (clause, value) picks; ``updated_at`` always, ``finished_at`` on a first finished state.
    Returns how many rows changed."""
    values: dict[str, Any] = {}
    for name, value in fields_.items():
        if name == "request":
            values["request_json"] = request_json(value)
        elif name in ("error_message", "error_code"):
            values[name] = None if value is None else redact(str(value))
        elif name == "run_seconds":
            values[name] = seconds(value)
        elif name == "cost":
            values["cost"], values["currency"] = _money_columns(value)
        elif name == "price":
            values["price"] = _money_columns(value)[0]
        elif name in ("task_id", "result_url", "video_path") and value is not None:
            values[name] = str(value)
        else:
            values[name] = value
    assignments = [f"{name} = ?" for name in values] + ["updated_at = ?"]
    params: list[Any] = [*values.values(), now]
    if values.get("state") in FINISHED and "finished_at" not in values:
        assignments.append("finished_at = COALESCE(finished_at, ?)")
        params.append(now)
    clause, key = where if where is not None else ("id = ?", int(row_id))
    cursor = conn.execute(f"UPDATE tasks SET {', '.join(assignments)} WHERE {clause}", (*params, key))
    return cursor.rowcount


def request_json(request: dict) -> str:
    """The request as stored: no key-like fields, no image bytes, every known secret masked."""
    cleaned = {k: v for k, v in dict(request or {}).items()
               if str(k).lower() not in _KEY_FIELDS and not isinstance(v, (bytes, bytearray, memoryview))}
    return redact(json.dumps(cleaned, sort_keys=True, ensure_ascii=False, default=str))


def load_request(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _money_columns(cost: Money | None) -> tuple[str | None, str | None]:
    if cost is not None and not isinstance(cost, Money):
        raise TypeError(f"a journal cost is Money or None, not {type(cost).__name__}")
    return (None, None) if cost is None else (str(cost.amount), cost.currency)


def _read_cost(cost: Any, currency: Any, site: Any) -> Money | None:
    """A row's charge: ``cost`` as text ("0.75"; older versions wrote just this, with ``currency``
    NULL) in the row's currency, else the site's. Unreadable text counts as unknown."""
    code = currency or facts.SITE_CURRENCY.get(str(site or ""), "")
    try:
        return parse_money(cost, code)
    except ValueError:  # a currency this version does not know
        return None


def _row(raw: sqlite3.Row) -> Row:
    values = {name: raw[name] for name in raw.keys()}
    values["request"] = load_request(values.pop("request_json"))
    values["cost"] = _read_cost(values["cost"], values.pop("currency"), values["site"])
    values["price"] = _read_cost(values["price"], None, values["site"])
    return Row(**values)
