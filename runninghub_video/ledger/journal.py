"""The task journal: one request, one payment; a paid video is never lost.

**The claim.** Before anything is uploaded, a run *claims* its request (fingerprint, which
includes site, model, options, reference identities and ``variation``, plus the endpoint it talks
to) in one ``BEGIN IMMEDIATE`` transaction: it either finds a reusable row (a saved video, a
task to resume), finds a live claimant (then it waits on that row and returns the same result),
finds an ambiguous submit (then it refuses), or inserts its own row. A unique index allows only
one unanswered claim per request, so two threads or processes can never both submit.

**Owners.** A claimant writes its host, pid and a per-process random token into the row and
refreshes ``heartbeat_at`` every ``heartbeat_s`` (core/waits.py) while it holds the claim. A claim whose owner
is gone — heartbeat older than ``stale_after_s``, or on this host a pid that no longer
exists, or this pid with another token (an earlier process, e.g. a restarted container) — is
taken over if it never reached the submit (``uploading``: nothing was sent), and becomes
``ambiguous`` if it did (``submitting`` without a task id: it may be paid). Never re-sent.

The journal is built in layers, each a module with one job: :mod:`.task_table` (the table, its
schema and the :class:`Row`), :mod:`.journal_file` (opening the file, taking in an earlier journal,
rebuilding it from :mod:`.record` after damage, with :mod:`.record_keeping`), :mod:`.journal_reads`
(queries for reuse, the tab, spend and estimates) and this one: the claim protocol and every change
of a row. :mod:`.holding` keeps a claim alive while a run holds it.

States (a text column, so an unknown server state is stored as-is rather than lost):

=============  ==================================================================================
uploading      claimed; references are being uploaded; no submit has been sent
submitting     the submit was sent; without a task id its outcome is unknown until it answers
CREATE/QUEUED/ RunningHub's pending states (``facts.PENDING_STATES``) — worth resuming
RUNNING
SUCCESS        finished; ``result_url`` is downloadable for ``facts.RESULT_URL_LIFETIME_S``
FAILED/CANCEL  finished without a video (``error_code``/``error_message`` say why)
downloaded     the video is at ``video_path``
expired        the task or its result URL is gone (1004 or 24 h passed) and no file is kept
ambiguous      the submit may have reached RunningHub but no answer came (never re-sent blindly)
rejected       RunningHub refused the submit, or it never left this machine (nothing charged)
abandoned      the claimant stopped before submitting (cancel, crash while uploading)
=============  ==================================================================================

The API key is never stored: ``request_json`` holds prompt, options and reference *hashes* only,
and every free text goes through :func:`redaction.redact` on the way in.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..core.redaction import redact
from ..core.errors import ValidationError
from .holding import Holder, following, is_followed, was_let_go
from .journal_file import JOURNAL_FILE, rebuilt_on_damage
from .journal_reads import (AMBIGUOUS_BLOCK_S, REUSE_MARGIN_S, STALE_SUBMIT_S, JournalReads, day_start, month_start,
                            reusable)
from .record_keeping import RECORD_COMPACT_AT
from .task_table import (ABANDONED, AMBIGUOUS, DOWNLOADED, EXPIRED, HOST, PROCESS_TOKEN, REJECTED, SUBMITTING,
                         UPDATABLE, UPLOADING, BatchTag, FinishedTask, Row, one, request_json, select, set_columns)

__all__ = ["ABANDONED", "AMBIGUOUS", "AMBIGUOUS_BLOCK_S", "DOWNLOADED", "EXPIRED", "JOURNAL_FILE", "REJECTED",
           "REUSE_MARGIN_S", "STALE_SUBMIT_S", "SUBMITTING", "UPLOADING", "BatchTag", "Claim", "FinishedTask",
           "Holder", "Journal", "Row", "day_start", "fingerprint", "following", "is_followed", "month_start"]

_FINGERPRINT_VERSION = 2


def fingerprint(*, site: str, model: str, options: dict, reference_hashes: list[str], variation: int) -> str:
    """Identity of "the same video request": the references' identities (content hashes of their
    sources and how each was trimmed or re-encoded: media/clips.py), not upload URLs (those change per
    upload) nor an encoder's output bytes (those change with the PyAV / FFmpeg build).

    ``options`` are the request's own fields (prompt, duration, …) as the request object names
    them. Reference order is kept (a prompt may say "the first image"); ``variation`` lets a user
    ask for a new paid video from identical inputs.
    """
    payload = {"v": _FINGERPRINT_VERSION, "site": site, "model": model, "options": options,
               "references": list(reference_hashes), "variation": int(variation)}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """What :meth:`Journal.claim` decided for a request.

    ``action``: ``new`` (this run owns a fresh row and may upload and submit), ``resume`` (this run
    now owns a row with a task id: wait and download, no submit), ``reuse`` (the video is on disk),
    ``wait`` (another live run owns it: wait on ``row``), ``ambiguous`` (an earlier submit may be
    paid: refuse)."""
    action: str
    row: Row


class Journal(JournalReads):
    """Every submitted task, so waiting can resume and nothing paid is submitted twice."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(path, compact_record_at=RECORD_COMPACT_AT)

    def _alive(self, row: Row, now: float) -> bool:
        """:meth:`Row.owner_alive`, knowing too which rows this process let go of without being able
        to write so (a full state disk): those are not waited on forever by this process's next run."""
        return row.owner_alive(now) and not (row.owner_token == PROCESS_TOKEN and was_let_go(self.path, row.id))

    # --- claims --------------------------------------------------------------------------
    @rebuilt_on_damage
    def claim(self, print_: str | Sequence[str], endpoint: str, *, site: str, model: str, request: dict,
              variation: int, now: float | None = None, batch: BatchTag | None = None) -> Claim:
        """Decide, atomically across threads and processes, what this run does for a request.

        ``print_``: the request's fingerprint, or its fingerprints with those earlier versions gave it
        after its own: their rows count as its own, a new row takes the first.
        In one write transaction: walk the request's rows newest first; a live unanswered claim
        means wait; a dead one is taken over (``uploading``: nothing was sent) or turned
        ``ambiguous`` (``submitting``: it may be paid); a recent ambiguous row refuses; a reusable
        row is reused or resumed (taking ownership); otherwise a new ``uploading`` row is ours
        (tagged with ``batch``, if any).
        """
        now = time.time() if now is None else now
        with self._db(write=True) as conn:
            prints = (print_,) if isinstance(print_, str) else tuple(print_)
            for row in select(conn, f"fingerprint IN ({', '.join('?' * len(prints))}) AND endpoint = ?",
                              (*prints, endpoint)):
                decided = self._decide(conn, row, now)
                if decided is not None:
                    return decided
            cursor = conn.execute(
                "INSERT INTO tasks (fingerprint, endpoint, site, model, state, request_json, created_at, updated_at,"
                " variation, owner_host, owner_pid, owner_token, heartbeat_at, batch_id, batch_name, batch_item)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (prints[0], endpoint, site, model, UPLOADING, request_json(request), now, now, int(variation),
                 HOST, os.getpid(), PROCESS_TOKEN, now, *((batch.id, redact(batch.name), redact(batch.item))
                                                          if batch else (None, None, None))))
            return Claim("new", one(conn, int(cursor.lastrowid)))

    def _decide(self, conn: sqlite3.Connection, row: Row, now: float) -> Claim | None:
        """What one earlier row of the request means for the claim (see :meth:`claim`); None: look
        at the next one."""
        if row.unanswered:
            if self._alive(row, now):
                return Claim("wait", row)
            if row.state == UPLOADING:
                set_columns(conn, row.id, now, state=ABANDONED, owner_token=None)
                return None
            message = ("The process that sent this submit ended before an answer came "
                       f"(pid {row.owner_pid} on {row.owner_host}).")
            set_columns(conn, row.id, now, state=AMBIGUOUS, owner_token=None, error_message=message)
            self._keeper.append(conn, "id = ?", (row.id,))
            return Claim("ambiguous", one(conn, row.id))
        if row.state == AMBIGUOUS:
            return Claim("ambiguous", row) if now - row.created_at < AMBIGUOUS_BLOCK_S else None
        if not reusable(row, now):
            return None
        if row.has_video:
            return Claim("reuse", row)
        if self._alive(row, now):
            return Claim("wait", row)
        _own(conn, row.id, now)
        return Claim("resume", one(conn, row.id))

    @rebuilt_on_damage
    def start_submit(self, row_id: int) -> bool:
        """``uploading`` → ``submitting``, only if this process still owns the row.

        False means another run decided this claim was dead and took it over: do not submit."""
        now = time.time()
        with self._db(write=True) as conn:
            cursor = conn.execute(
                "UPDATE tasks SET state = ?, updated_at = ?, heartbeat_at = ? WHERE id = ? AND state = ?"
                " AND owner_token = ?", (SUBMITTING, now, now, int(row_id), UPLOADING, PROCESS_TOKEN))
            if cursor.rowcount != 1:
                return False
            self._keeper.append(conn, "id = ?", (int(row_id),), must=True)  # before the submit leaves
            return True

    @rebuilt_on_damage
    def heartbeat(self, row_id: int) -> None:
        """Tell other runs this process still works on the row."""
        with self._db(write=True) as conn:
            conn.execute("UPDATE tasks SET heartbeat_at = ? WHERE id = ? AND owner_token = ?",
                         (time.time(), int(row_id), PROCESS_TOKEN))

    @rebuilt_on_damage
    def release(self, row_id: int) -> None:
        """This process stops working on the row: a claim that never submitted is ``abandoned``;
        a row with a task id stays resumable by the next run."""
        now = time.time()
        with self._db(write=True) as conn:
            conn.execute("UPDATE tasks SET state = CASE WHEN state = ? AND task_id IS NULL THEN ? ELSE state END,"
                         " owner_token = NULL, updated_at = ? WHERE id = ? AND owner_token = ?",
                         (UPLOADING, ABANDONED, now, int(row_id), PROCESS_TOKEN))

    @rebuilt_on_damage
    def submits_in_flight(self) -> int:
        """Submits this process sent that have not answered yet (a batch stopped by Ctrl-C waits
        for them, so their task ids are recorded rather than left ambiguous)."""
        with self._db(write=False) as conn:
            if conn is None:
                return 0
            return int(conn.execute("SELECT COUNT(*) FROM tasks WHERE state = ? AND task_id IS NULL"
                                    " AND owner_token = ?", (SUBMITTING, PROCESS_TOKEN)).fetchone()[0])

    def hold(self, row_id: int) -> Holder:
        """A :class:`Holder` that heartbeats the row while anyone holds it, then releases it."""
        return Holder(self, row_id)

    # --- changes of rows ------------------------------------------------------------------
    @rebuilt_on_damage
    def record(self, task_id: str, *, site: str, endpoint: str, state: str, fingerprint: str = "",
               model: str = "", request: dict | None = None, variation: int = 0) -> int:
        """Write a row for a task id learnt elsewhere (fetch of an id the journal never saw)."""
        now = time.time()
        with self._db(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO tasks (fingerprint, endpoint, site, model, task_id, state, request_json, created_at,"
                " updated_at, submitted_at, variation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (fingerprint, endpoint, site, model, str(task_id), state, request_json(request or {}), now, now,
                 now, int(variation)))
            self._keeper.append(conn, "id = ?", (int(cursor.lastrowid),))
            return int(cursor.lastrowid)

    def set_task(self, row_id: int, task_id: str, state: str) -> None:
        """Attach the task id the moment the submit answers, so a crash while waiting loses nothing."""
        self.update(int(row_id), task_id=str(task_id), state=state, submitted_at=time.time())

    @rebuilt_on_damage
    def update(self, task_id_or_row: str | int, **fields_: Any) -> int:
        """Change columns of a row (int id) or of every row of a task (str task id); returns rows changed.

        ``updated_at`` is set for you, and ``finished_at`` the first time a finished state is written.
        """
        unknown = set(fields_) - UPDATABLE
        if unknown:
            raise TypeError(f"Journal.update got unknown field(s): {', '.join(sorted(unknown))}")
        where = "id = ?" if isinstance(task_id_or_row, int) else "task_id = ?"
        with self._db(write=True) as conn:
            changed = set_columns(conn, None, time.time(), where=(where, task_id_or_row), **fields_)
            self._keeper.append(conn, where, (task_id_or_row,))
            return changed

    @rebuilt_on_damage
    def attach_task(self, row_id: int, task_id: str) -> Row:
        """An unanswered submit's task, named by a person (the tab's "Recover this id") or matched by a
        fetch (run/fetch_match.py): the row takes the id, counted from its submit time, and whatever a
        fetch of that id already learnt (state, video, charge), so queuing the request again reuses it.

        Refused (ValidationError) when the row already has a task id or never reached the submit, and
        when the id is already the task of a request (a row with a fingerprint): one task, one request."""
        now = time.time()
        with self._db(write=True) as conn:
            row = one(conn, row_id)
            if row is None or row.task_id or row.state not in (AMBIGUOUS, SUBMITTING):
                raise ValidationError("Only an ambiguous submit without a task id can take a task id.")
            known = select(conn, "task_id = ? AND site = ?", (str(task_id), row.site))
            owner = next((k for k in known if k.fingerprint), None)
            if owner is not None:
                raise ValidationError(f"Task {task_id} is already the task of another request (made "
                                      f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(owner.created_at))}): "
                                      "it cannot answer this submit too.")
            values: dict[str, Any] = {"task_id": str(task_id), "state": "QUEUED", "submitted_at": row.created_at,
                                      "error_message": None}
            if known:  # fetched already (a plain fetch row): its findings come along
                fetched = known[0]
                values.update({name: getattr(fetched, name) for name in (
                    "state", "result_url", "video_path", "cost", "error_code", "error_message", "run_seconds",
                    "running_at", "finished_at") if getattr(fetched, name) is not None})
            set_columns(conn, row.id, now, **values)
            self._keeper.append(conn, "id = ?", (row.id,))
            return one(conn, row.id)


def _own(conn: sqlite3.Connection, row_id: int, now: float) -> None:
    """This process takes the row over (a resume)."""
    conn.execute("UPDATE tasks SET owner_host = ?, owner_pid = ?, owner_token = ?, heartbeat_at = ?,"
                 " updated_at = ? WHERE id = ?", (HOST, os.getpid(), PROCESS_TOKEN, now, now, int(row_id)))
