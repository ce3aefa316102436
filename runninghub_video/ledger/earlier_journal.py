"""A journal left where an earlier version of the pack kept it (ComfyUI's ``user/`` folder) is
taken into the user's journal the first time this process opens it, so the requests it holds —
paid, running, or sent without an answer — stay protected after the move.

Rows are copied, never merged: a row already copied (same request, endpoint, creation time and
task id) is skipped, so two processes adopting at once, or an adoption cut off half-way, copy
nothing twice. A claim that was uploading there is copied as abandoned (nothing was sent); a submit
without an answer as ambiguous (it may have made a paid task): the process that owned either
belonged to the earlier folder. The earlier file is then renamed ``<name>.moved-<time>`` beside
itself (kept, not deleted); an earlier file that cannot be read is left where it is and logged.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

_ENDED_HERE = "The process that owned this claim used the journal's earlier folder; it was moved."
# (state of an unanswered claim there, what it becomes here)
_UNANSWERED = {"uploading": "abandoned", "submitting": "ambiguous"}


def adopt(conn: sqlite3.Connection, earlier: Path) -> int:
    """Copy the rows of the journal at ``earlier`` into the open write transaction ``conn``; returns
    how many were new (0 when another process took it in meanwhile and put it away). Raises
    ``sqlite3.Error`` when the earlier file cannot be read."""
    if not earlier.exists():
        return 0
    source = sqlite3.connect(f"{earlier.resolve().as_uri()}?mode=ro", uri=True)
    try:
        source.row_factory = sqlite3.Row
        rows = source.execute("SELECT * FROM tasks ORDER BY id").fetchall()
    finally:
        source.close()
    ours = {r[1] for r in conn.execute("PRAGMA table_info(tasks)")} - {"id"}
    copied = 0
    for raw in rows:
        values = {name: raw[name] for name in raw.keys() if name in ours}
        if not values.get("task_id") and values.get("state") in _UNANSWERED:
            values.update(state=_UNANSWERED[values["state"]], owner_token=None,
                          error_message=values.get("error_message") or _ENDED_HERE)
        seen = conn.execute(
            "SELECT 1 FROM tasks WHERE fingerprint = ? AND endpoint IS ? AND created_at = ? AND task_id IS ?",
            (values.get("fingerprint"), values.get("endpoint", ""), values.get("created_at"),
             values.get("task_id"))).fetchone()
        if seen:
            continue
        names = list(values)
        conn.execute(f"INSERT INTO tasks ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     [values[n] for n in names])
        copied += 1
    return copied


def put_away(earlier: Path) -> None:
    """Rename the adopted file (and SQLite's side files) so it is not read again; a failure is
    logged (adopting again copies nothing twice)."""
    target = earlier.with_name(f"{earlier.name}.moved-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        for suffix in ("", "-wal", "-shm"):
            side = earlier.with_name(earlier.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
    except OSError as exc:
        log.warning("RunningHub: the journal in %s was copied but could not be renamed (%s).", earlier,
                    exc.strerror or exc)
