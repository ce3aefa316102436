"""The journal's side of its record (:mod:`.record`): every row that may be paid gets its line in
the write transaction that changed it, the record is compacted when it grows, and the journal is
brought back in step from it when it missed lines or was rebuilt after damage.

The journal notes in ``record_state`` how long the record was at its last write (-1: never); a
record longer than that holds lines the journal missed (it was replaced, emptied or restored from a
copy), one shorter or with unreadable lines is written afresh from the journal.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from ..remote import facts
from ..core.errors import ConfigError
from ..core.redaction import redact
from .record import Record
from .task_table import AMBIGUOUS, UNANSWERED, Row, one

log = logging.getLogger(__name__)

# Rows the record keeps: every one that reached the submit (see record.py). A rewrite of the record
# (first use, a shortened record, compaction past RECORD_COMPACT_AT bytes) keeps those of the last
# RECORD_KEEP_S and every one with a saved video.
_PROTECTED = "(task_id IS NOT NULL OR state IN ('submitting', 'ambiguous', 'rejected'))"
RECORD_KEEP_S = 2 * facts.RESULT_URL_LIFETIME_S
RECORD_COMPACT_AT = 4_000_000


class RecordKeeper:
    """Keeps the record beside the journal at ``journal_path`` in step with it; every method works
    inside a write transaction ``conn`` of the journal."""

    def __init__(self, journal_path: Path, *, compact_at: int = RECORD_COMPACT_AT) -> None:
        self.record = Record(journal_path)
        self.compact_at = compact_at  # the record is rewritten (only what it must keep) once longer than this

    def append(self, conn: sqlite3.Connection, where: str, params: tuple, *, must: bool = False) -> None:
        """Append the rows matching ``where`` that may be paid to the record, inside the write
        transaction that changed them. ``must``: a failure raises (and rolls the change back)
        instead of being logged: a submit is never sent without its line in the record."""
        raws = conn.execute(f"SELECT * FROM tasks WHERE ({where}) AND {_PROTECTED}", params).fetchall()
        if not raws:
            return
        try:
            size = self.record.append(dict(raw) for raw in raws)
        except OSError as exc:
            if must:
                raise ConfigError(f"Could not write the journal's record {self.record.path} "
                                  f"({exc.strerror or exc}).", advice="Nothing was submitted or charged by this run; "
                                  "free some disk space or fix the state folder, then queue again.") from None
            log.warning("RunningHub: the journal's record %s could not be written (%s); the journal still has "
                        "the row.", self.record.path, exc.strerror or exc)
            return
        if size > self.compact_at:
            self.rewrite(conn)
        else:
            _note_size(conn, size)

    def rewrite(self, conn: sqlite3.Connection) -> None:
        """Write the record afresh from the journal's rows that may be paid (see RECORD_KEEP_S)."""
        raws = conn.execute(f"SELECT * FROM tasks WHERE {_PROTECTED} AND (created_at >= ? OR video_path IS NOT NULL)"
                            " ORDER BY id", (time.time() - RECORD_KEEP_S,)).fetchall()
        try:
            size = self.record.rewrite(dict(raw) for raw in raws)
        except OSError as exc:
            log.warning("RunningHub: the journal's record %s could not be rewritten (%s).", self.record.path,
                        exc.strerror or exc)
            size = -1  # tried again next time
        _note_size(conn, size)

    def sync(self, conn: sqlite3.Connection, moved: Path | None) -> list[Row]:
        """Bring the journal in step with its record (``moved``: where its damaged file went, when it
        was just made anew); the rows restored."""
        recorded = conn.execute("SELECT size FROM record_state WHERE id = 1").fetchone()
        recorded = -1 if recorded is None else int(recorded[0])
        actual = self.record.size()
        if recorded == actual and moved is None:
            return []
        snapshots, unreadable = self.record.rows()
        restored = _merge(conn, snapshots, moved)
        if recorded < 0 or actual < recorded or unreadable:  # first use, a shortened or spoilt record: rewrite it
            self.rewrite(conn)
        else:
            _note_size(conn, actual)
        return restored


def _note_size(conn: sqlite3.Connection, size: int) -> None:
    conn.execute("UPDATE record_state SET size = ? WHERE id = 1", (size,))


def _merge(conn: sqlite3.Connection, snapshots: dict[int, dict], moved: Path | None) -> list[Row]:
    """Put the record's rows into the journal: missing rows come back with their ids, a row's
    task id or saved video the journal missed is filled in; nothing the journal knows is undone."""
    columns = {str(c[1]) for c in conn.execute("PRAGMA table_info(tasks)")}
    how = f"the journal was damaged (kept as {moved.name})" if moved else "the journal had lost it"
    restored = []
    for row_id, snapshot in snapshots.items():
        values = {k: v for k, v in snapshot.items() if k in columns}
        have = conn.execute("SELECT * FROM tasks WHERE id = ?", (row_id,)).fetchone()
        if have is not None and (have["fingerprint"], have["created_at"]) != (values.get("fingerprint"),
                                                                               values.get("created_at")):
            values.pop("id", None)  # another row has this id now: this one comes back under a new id
            have = None
        if have is None:  # no owner: a run still working on it writes by row id, which stays the same
            values.update(owner_token=None, heartbeat_at=None)
            if not values.get("task_id") and values.get("state") in UNANSWERED:
                values.update(state=AMBIGUOUS, error_message=redact(
                    f"answer lost: {how} before this submit's answer was written"))
            cursor = conn.execute(f"INSERT INTO tasks ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                                  tuple(values.values()))
            restored.append(one(conn, int(cursor.lastrowid)))
            continue
        fill = {}
        if not have["task_id"] and values.get("task_id"):
            fill.update({k: values.get(k) for k in ("task_id", "state", "submitted_at", "error_message")})
        if values.get("video_path") and not have["video_path"]:
            fill.update({k: values.get(k) for k in ("video_path", "state", "cost", "currency", "finished_at")})
        if fill:
            conn.execute(f"UPDATE tasks SET {', '.join(f'{k} = ?' for k in fill)} WHERE id = ?",
                         (*fill.values(), row_id))
            restored.append(one(conn, row_id))
    return [row for row in restored if row is not None]


def damage_notice(path: Path, moved: Path | None, restored: list[Row]) -> str:
    """What happened to the journal and, for every request that may be paid, its task id (or "answer
    lost") and how to get its video without paying again."""
    what = (f"the task journal {path} was damaged; it was kept as {moved.name} and rebuilt from its record"
            if moved else f"the task journal {path} had lost rows (emptied or replaced); they were restored from "
                          "its record")
    lines = []
    for row in restored:
        prompt = str(row.request.get("prompt", ""))[:40]
        if row.task_id:
            lines.append(f"task {row.task_id} (\"{prompt}\"): queue the same graph again or fetch {row.task_id}")
        elif row.state == AMBIGUOUS:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created_at))
            lines.append(f"answer lost for the submit at {when} (\"{prompt}\"): it is not sent again; find the "
                         "task in your call records, then fetch it")
    return what + (". Requests that may be paid, still protected: " + "; ".join(lines) if lines else ".")
