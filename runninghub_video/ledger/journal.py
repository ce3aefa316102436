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

Storage: one SQLite file in :func:`config.state_dir` (see :mod:`..core.store`), WAL mode, one short
connection per call, so one :class:`Journal` is safe from many threads and processes.

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

import functools
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from ..remote import config, facts
from ..core.money import Money
from ..core.redaction import redact
from ..core.errors import ConfigError, ValidationError
from ..core.store import DamagedFile, open_db
from .record import Record
from . import earlier_journal
from .holding import Holder, following, is_followed, was_let_go
from .task_table import (ABANDONED, AMBIGUOUS, DOWNLOADED, EXPIRED, HOST, MIGRATIONS as _MIGRATIONS, PROCESS_TOKEN,
                         REJECTED, SUBMITTING, UNANSWERED, UPDATABLE, UPLOADING, BatchTag, FinishedTask, Row,
                         load_request, one, request_json, select, set_columns)

__all__ = ["ABANDONED", "AMBIGUOUS", "AMBIGUOUS_BLOCK_S", "DOWNLOADED", "EXPIRED", "JOURNAL_FILE", "REJECTED",
           "REUSE_MARGIN_S", "STALE_SUBMIT_S", "SUBMITTING", "UPLOADING", "BatchTag", "Claim", "FinishedTask",
           "Holder", "Journal", "Row", "day_start", "fingerprint", "following", "is_followed", "month_start"]

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.sqlite3"

_NEVER_REUSABLE = frozenset({AMBIGUOUS, EXPIRED, REJECTED, ABANDONED}) | facts.TERMINAL_FAILURE_STATES
_NOT_CHARGED = frozenset({REJECTED, ABANDONED}) | facts.TERMINAL_FAILURE_STATES

# Reuse a result URL / pending task id only while at least this much of its 24 h life is left:
# enough time to finish waiting and download a large file before RunningHub forgets it.
REUSE_MARGIN_S = 2 * 3600
# An ambiguous submit blocks automatic re-submits of the same request this long: after it, any
# task it made has expired on RunningHub and can no longer be recovered anyway.
AMBIGUOUS_BLOCK_S = facts.RESULT_URL_LIFETIME_S
STALE_SUBMIT_S = 900.0  # a submit, with all its retries and timeouts, answers well within this
_FINGERPRINT_VERSION = 2

_adopting = threading.Lock()
_adopted: set[Path] = set()  # earlier journals this process has taken in (or found unreadable)

# Rows the record keeps: every one that reached the submit (see record.py). A rewrite of the record
# (first use, a shortened record, compaction past RECORD_COMPACT_AT bytes) keeps those of the last
# RECORD_KEEP_S and every one with a saved video.
_PROTECTED = "(task_id IS NOT NULL OR state IN ('submitting', 'ambiguous', 'rejected'))"
RECORD_KEEP_S = 2 * facts.RESULT_URL_LIFETIME_S
RECORD_COMPACT_AT = 4_000_000

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


# --- damage ----------------------------------------------------------------------------------
T = TypeVar("T")
_verified: dict[Path, tuple] = {}  # journal path -> its files as this process last found them in step
_checked: dict[Path, Any] = {}  # journal path -> the journal file as last integrity-checked
_moved_aside: dict[Path, Path] = {}  # journal path -> where its damaged file went, until the rebuild says so


def _rebuilt_on_damage(method: Callable[..., T]) -> Callable[..., T]:
    """Damage met in the middle of a journal call moves the file aside (store.open_db); the call is
    made once more, on the journal rebuilt from its record. No raw SQLite error leaves the journal."""
    @functools.wraps(method)
    def call(self: Journal, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except DamagedFile as exc:
            _moved_aside[self.path] = exc.moved_to
        try:
            return method(self, *args, **kwargs)
        except DamagedFile as exc:
            raise ConfigError(f"The task journal {self.path} was damaged twice (kept as {exc.moved_to.name}).",
                              advice=_RECOVER_BY_HAND) from None
    return call
_RECOVER_BY_HAND = ("Before queuing again, look for tasks of the last 24 hours in the call records of your API "
                    "console (log in → API console → call records) and get their videos with the RunningHub Fetch "
                    "Task node or `python -m runninghub_video fetch ID`: the journal cannot tell which requests "
                    "were already paid.")


def _files_key(path: Path, record: Record) -> tuple:
    """The journal file (None when missing) and the record's size, as they stand."""
    try:
        stat = path.stat()
        journal = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:  # missing, or its folder cannot be reached (open_db then says why)
        journal = None
    return journal, record.size()


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


# --- the journal ---------------------------------------------------------------------------
class Journal:
    """Every submitted task, so waiting can resume and nothing paid is submitted twice."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config.state_dir() / JOURNAL_FILE
        self._lock = threading.Lock()  # serialises this process's writers; WAL handles other processes
        self._record = Record(self.path)
        earlier = config.earlier_state_dir()
        self._earlier = earlier / JOURNAL_FILE if path is None and earlier is not None else None

    @contextmanager
    def _db(self, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        self._adopt_earlier()
        self._verify()
        if not write:
            with open_db(self.path, _MIGRATIONS, write=False, what="task journal") as conn:
                yield conn
            return
        with self._lock, open_db(self.path, _MIGRATIONS, write=True, what="task journal") as conn:
            yield conn

    def _alive(self, row: Row, now: float) -> bool:
        """:meth:`Row.owner_alive`, knowing too which rows this process let go of without being able
        to write so (a full state disk): those are not waited on forever by this process's next run."""
        return row.owner_alive(now) and not (row.owner_token == PROCESS_TOKEN and was_let_go(self.path, row.id))

    def _adopt_earlier(self) -> None:
        """Once per process: copy the journal an earlier version kept in ComfyUI's user folder
        (see :mod:`.earlier_journal`) before this one is first read or written."""
        earlier = self._earlier
        if earlier is None or earlier.resolve() == self.path.resolve():
            return
        with _adopting:
            if earlier in _adopted or not earlier.exists():
                return
            try:
                with self._lock, open_db(self.path, _MIGRATIONS, write=True, what="task journal") as conn:
                    before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM tasks").fetchone()[0]
                    copied = earlier_journal.adopt(conn, earlier)
                    if copied:
                        self._rewrite_record(conn)  # the rows taken in are in the record too
                    self._to_record(conn, "id > ?", (before,))  # the record protects them from now on too
            except sqlite3.Error as exc:
                log.warning("RunningHub: the earlier journal %s could not be read (%s); left where it is.",
                            earlier, exc)
                _adopted.add(earlier)
                return
            earlier_journal.put_away(earlier)
            _adopted.add(earlier)
        log.info("RunningHub: %d task(s) of the journal in %s now live in %s.", copied, earlier, self.path)

    # --- damage and the record ----------------------------------------------------------
    def _verify(self) -> None:
        """Before the journal is used: rebuild it from its record if it missed lines (emptied,
        replaced, restored from a copy), or move it aside and rebuild it if it is damaged.

        Skipped while neither file changed since this process last looked (an integrity check
        runs only when the journal file itself changed)."""
        key = _files_key(self.path, self._record)
        if _verified.get(self.path) == key or (key[0] is None and not key[1]):
            return  # in step, or nothing at all yet (a look never creates the journal)
        moved: Path | None = None
        for attempt in (1, 2):
            try:
                with self._lock, open_db(self.path, _MIGRATIONS, write=True, what="task journal") as conn:
                    if _checked.get(self.path) != key[0] and key[0] is not None:
                        problem = str(conn.execute("PRAGMA quick_check(1)").fetchone()[0])
                        if problem != "ok":
                            raise sqlite3.DatabaseError(f"database disk image is malformed ({problem})")
                    restored = self._sync(conn, moved)
                break
            except DamagedFile as exc:
                if attempt == 2:
                    raise ConfigError(f"The task journal {self.path} was damaged, moved to {moved.name if moved else '?'}"
                                      f", and could not be rebuilt ({exc}).", advice=_RECOVER_BY_HAND) from None
                moved = exc.moved_to
        moved = moved or _moved_aside.pop(self.path, None)
        if restored or moved:
            log.warning("RunningHub: %s", damage_notice(self.path, moved, restored))
        key = _files_key(self.path, self._record)
        _verified[self.path], _checked[self.path] = key, key[0]

    def _sync(self, conn: sqlite3.Connection, moved: Path | None) -> list[Row]:
        """Bring the journal in step with its record (inside a write transaction); the rows restored."""
        recorded = conn.execute("SELECT size FROM record_state WHERE id = 1").fetchone()
        recorded = -1 if recorded is None else int(recorded[0])
        actual = self._record.size()
        if recorded == actual and moved is None:
            return []
        snapshots, unreadable = self._record.rows()
        restored = self._merge(conn, snapshots, moved)
        if recorded < 0 or actual < recorded or unreadable:  # first use, a shortened or spoilt record: rewrite it
            self._rewrite_record(conn)
        else:
            conn.execute("UPDATE record_state SET size = ? WHERE id = 1", (actual,))
        return restored

    def _merge(self, conn: sqlite3.Connection, snapshots: dict[int, dict], moved: Path | None) -> list[Row]:
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

    def _rewrite_record(self, conn: sqlite3.Connection) -> None:
        """Write the record afresh from the journal's rows that may be paid (see RECORD_KEEP_S)."""
        raws = conn.execute(f"SELECT * FROM tasks WHERE {_PROTECTED} AND (created_at >= ? OR video_path IS NOT NULL)"
                            " ORDER BY id", (time.time() - RECORD_KEEP_S,)).fetchall()
        try:
            size = self._record.rewrite(dict(raw) for raw in raws)
        except OSError as exc:
            log.warning("RunningHub: the journal's record %s could not be rewritten (%s).", self._record.path,
                        exc.strerror or exc)
            size = -1  # tried again next time
        conn.execute("UPDATE record_state SET size = ? WHERE id = 1", (size,))

    def _to_record(self, conn: sqlite3.Connection, where: str, params: tuple, *, must: bool = False) -> None:
        """Append the rows matching ``where`` that may be paid to the record, inside the write
        transaction that changed them. ``must``: a failure raises (and rolls the change back)
        instead of being logged: a submit is never sent without its line in the record."""
        raws = conn.execute(f"SELECT * FROM tasks WHERE ({where}) AND {_PROTECTED}", params).fetchall()
        if not raws:
            return
        try:
            size = self._record.append(dict(raw) for raw in raws)
        except OSError as exc:
            if must:
                raise ConfigError(f"Could not write the journal's record {self._record.path} "
                                  f"({exc.strerror or exc}).", advice="Nothing was submitted or charged by this run; "
                                  "free some disk space or fix the state folder, then queue again.") from None
            log.warning("RunningHub: the journal's record %s could not be written (%s); the journal still has "
                        "the row.", self._record.path, exc.strerror or exc)
            return
        if size > RECORD_COMPACT_AT:
            self._rewrite_record(conn)
        else:
            conn.execute("UPDATE record_state SET size = ? WHERE id = 1", (size,))

    # --- claims --------------------------------------------------------------------------
    @_rebuilt_on_damage
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
                if row.unanswered:
                    if self._alive(row, now):
                        return Claim("wait", row)
                    if row.state == UPLOADING:
                        set_columns(conn, row.id, now, state=ABANDONED, owner_token=None)
                        continue
                    message = ("The process that sent this submit ended before an answer came "
                               f"(pid {row.owner_pid} on {row.owner_host}).")
                    set_columns(conn, row.id, now, state=AMBIGUOUS, owner_token=None, error_message=message)
                    self._to_record(conn, "id = ?", (row.id,))
                    return Claim("ambiguous", one(conn, row.id))
                if row.state == AMBIGUOUS:
                    if now - row.created_at < AMBIGUOUS_BLOCK_S:
                        return Claim("ambiguous", row)
                    continue
                if not _reusable(row, now):
                    continue
                if row.has_video:
                    return Claim("reuse", row)
                if self._alive(row, now):
                    return Claim("wait", row)
                _own(conn, row.id, now)
                return Claim("resume", one(conn, row.id))
            cursor = conn.execute(
                "INSERT INTO tasks (fingerprint, endpoint, site, model, state, request_json, created_at, updated_at,"
                " variation, owner_host, owner_pid, owner_token, heartbeat_at, batch_id, batch_name, batch_item)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (prints[0], endpoint, site, model, UPLOADING, request_json(request), now, now, int(variation),
                 HOST, os.getpid(), PROCESS_TOKEN, now, *((batch.id, redact(batch.name), redact(batch.item))
                                                          if batch else (None, None, None))))
            return Claim("new", one(conn, int(cursor.lastrowid)))

    @_rebuilt_on_damage
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
            self._to_record(conn, "id = ?", (int(row_id),), must=True)  # before the submit leaves
            return True

    @_rebuilt_on_damage
    def heartbeat(self, row_id: int) -> None:
        """Tell other runs this process still works on the row."""
        with self._db(write=True) as conn:
            conn.execute("UPDATE tasks SET heartbeat_at = ? WHERE id = ? AND owner_token = ?",
                         (time.time(), int(row_id), PROCESS_TOKEN))

    @_rebuilt_on_damage
    def release(self, row_id: int) -> None:
        """This process stops working on the row: a claim that never submitted is ``abandoned``;
        a row with a task id stays resumable by the next run."""
        now = time.time()
        with self._db(write=True) as conn:
            conn.execute("UPDATE tasks SET state = CASE WHEN state = ? AND task_id IS NULL THEN ? ELSE state END,"
                         " owner_token = NULL, updated_at = ? WHERE id = ? AND owner_token = ?",
                         (UPLOADING, ABANDONED, now, int(row_id), PROCESS_TOKEN))

    @_rebuilt_on_damage
    def submits_in_flight(self) -> int:
        """Submits this process sent that have not answered yet (a batch stopped by Ctrl-C waits
        for them, so their task ids are recorded rather than left ambiguous)."""
        with self._db(write=False) as conn:
            if conn is None:
                return 0
            return int(conn.execute("SELECT COUNT(*) FROM tasks WHERE state = ? AND task_id IS NULL"
                                    " AND owner_token = ?", (SUBMITTING, PROCESS_TOKEN)).fetchone()[0])

    @_rebuilt_on_damage
    def batch_rows(self, batch_id: str) -> list[Row]:
        """Every row made for a batch, newest first (what it has spent, what it still runs)."""
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, "batch_id = ?", (str(batch_id),))

    def hold(self, row_id: int) -> Holder:
        """A :class:`Holder` that heartbeats the row while anyone holds it, then releases it."""
        return Holder(self, row_id)

    # --- rows ----------------------------------------------------------------------------
    @_rebuilt_on_damage
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
            self._to_record(conn, "id = ?", (int(cursor.lastrowid),))
            return int(cursor.lastrowid)

    def set_task(self, row_id: int, task_id: str, state: str) -> None:
        """Attach the task id the moment the submit answers, so a crash while waiting loses nothing."""
        self.update(int(row_id), task_id=str(task_id), state=state, submitted_at=time.time())

    @_rebuilt_on_damage
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
            self._to_record(conn, where, (task_id_or_row,))
            return changed

    @_rebuilt_on_damage
    def unanswered_submits(self, endpoint: str, now: float | None = None) -> list[Row]:
        """Ambiguous submits of ``endpoint`` without a task id that still refuse their request."""
        now = time.time() if now is None else now
        with self._db(write=False) as conn:
            return [] if conn is None else select(
                conn, "state = ? AND task_id IS NULL AND endpoint = ? AND created_at > ?",
                (AMBIGUOUS, endpoint, now - AMBIGUOUS_BLOCK_S))

    @_rebuilt_on_damage
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
            self._to_record(conn, "id = ?", (row.id,))
            return one(conn, row.id)

    @_rebuilt_on_damage
    def row(self, row_id: int) -> Row | None:
        with self._db(write=False) as conn:
            return None if conn is None else one(conn, row_id)

    @_rebuilt_on_damage
    def find_reusable(self, fingerprint: str, endpoint: str, now: float | None = None) -> Row | None:
        """The newest row of this request that can still yield its video without paying again.

        Reusable: a task still pending (submitted less than 24 h minus a margin ago), a SUCCESS that
        finished that recently (with or without a URL: the task is asked again for one), or a
        downloaded row whose file is still on disk (or, with the file gone, that finished that
        recently — check :attr:`Row.has_video`). Never reused:
        a claim without a task id, ``ambiguous``, ``expired``, ``rejected``, FAILED, CANCEL.
        """
        now = time.time() if now is None else now
        with self._db(write=False) as conn:
            if conn is None:
                return None
            rows = select(conn, "fingerprint = ? AND endpoint = ?", (fingerprint, endpoint))
        return next((row for row in rows if _reusable(row, now)), None)

    @_rebuilt_on_damage
    def get(self, task_id: str, site: str | None = None, *, endpoint: str | None = None) -> Row | None:
        """The newest row for a task id, optionally of one site or one endpoint (fetch starts here)."""
        where, params = "task_id = ?", [str(task_id)]
        for column, value in (("site", site), ("endpoint", endpoint)):
            if value is not None:
                where += f" AND {column} = ?"
                params.append(value)
        with self._db(write=False) as conn:
            rows = [] if conn is None else select(conn, where, params, limit=1)
        return rows[0] if rows else None

    @_rebuilt_on_damage
    def list(self, limit: int = 50, site: str | None = None) -> list[Row]:
        """Newest rows first, for the CLI's history and a user hunting for a lost task id."""
        where, params = ("site = ?", [site]) if site is not None else ("1", [])
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, where, params, limit=int(limit))

    @_rebuilt_on_damage
    def finished_tasks(self, endpoint: str, limit: int = 200) -> list[FinishedTask]:
        """Queue and run times of the newest ``limit`` successful tasks made through ``endpoint``
        (site and address: an emulator's times never pace the real site), oldest first; what
        :mod:`estimate` learns from."""
        with self._db(write=False) as conn:
            if conn is None:
                return []
            raws = conn.execute(
                "SELECT request_json, submitted_at, running_at, run_seconds FROM tasks WHERE endpoint = ?"
                " AND run_seconds IS NOT NULL AND state IN (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
                (endpoint, facts.SUCCESS_STATE, DOWNLOADED, int(limit))).fetchall()
        return [FinishedTask(load_request(raw["request_json"]),
                             None if raw["running_at"] is None or raw["submitted_at"] is None
                             else max(0.0, raw["running_at"] - raw["submitted_at"]),
                             float(raw["run_seconds"])) for raw in reversed(raws)]

    # --- what the tab and the budget read ------------------------------------------------
    @_rebuilt_on_damage
    def page(self, limit: int, before: tuple[float, int] | None = None, site: str | None = None) -> list[Row]:
        """Up to ``limit`` rows, newest first, older than the ``(created_at, id)`` cursor ``before``.

        A plain fetch of a task that has since become a request's own (``attach_task``) is left out:
        the request's row shows that task and its video."""
        where, params = ["NOT (fingerprint = '' AND task_id IS NOT NULL AND EXISTS (SELECT 1 FROM tasks AS own"
                         " WHERE own.task_id = tasks.task_id AND own.site = tasks.site AND own.fingerprint != ''))"], []
        if site:
            where.append("site = ?")
            params.append(site)
        if before is not None:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params += [before[0], before[0], before[1]]
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, " AND ".join(where), params, limit=int(limit))

    @_rebuilt_on_damage
    def task_rows(self, task_id: str, site: str) -> list[Row]:
        """Every row of one task of ``site``, newest first (a task fetched again has several)."""
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, "task_id = ? AND site = ?", (str(task_id), site))

    @_rebuilt_on_damage
    def charged(self, since: float) -> dict[tuple[str, str], tuple[Money, int]]:
        """Per (site, currency): the exact sum RunningHub reported as charged for tasks that finished
        since ``since``, and how many tasks; a task journaled twice (fetched again) counts once."""
        with self._db(write=False) as conn:
            rows = [] if conn is None else select(
                conn, "cost IS NOT NULL AND cost != '' AND COALESCE(finished_at, created_at) >= ?", (since,))
        sums: dict[tuple[str, str], tuple[Money, int]] = {}
        seen: set[tuple] = set()
        for row in rows:
            identity = (row.site, row.task_id or f"row {row.id}")
            if row.cost is None or identity in seen:
                continue
            seen.add(identity)
            key = (row.site, row.cost.currency)
            spent, count = sums.get(key, (Money.zero(row.cost.currency), 0))
            sums[key] = (spent + row.cost, count + 1)
        return sums

    @_rebuilt_on_damage
    def uncharged(self, site: str, since: float, now: float | None = None) -> list[Row]:
        """Rows of ``site`` that may be (or have been) charged since ``since`` without a known charge:
        a claim still uploading (of any process), a submit under way or unanswered (ambiguous), a
        task pending (whenever it was submitted: it is charged when it ends), and a task finished
        since ``since`` whose charge RunningHub did not report or reported as no amount. Refused,
        abandoned and failed tasks are not charged [S: moderation 1501]; a task fetched by id but
        made elsewhere (no fingerprint) counts only while it is pending."""
        now = time.time() if now is None else now
        with self._db(write=False) as conn:
            rows = [] if conn is None else select(
                conn, "site = ? AND COALESCE(finished_at, created_at) >= ?",
                (site, since - facts.RESULT_URL_LIFETIME_S))
        return [row for row in rows if row.cost is None and _may_be_charged(row, since, now)]


def _own(conn: sqlite3.Connection, row_id: int, now: float) -> None:
    """This process takes the row over (a resume)."""
    conn.execute("UPDATE tasks SET owner_host = ?, owner_pid = ?, owner_token = ?, heartbeat_at = ?,"
                 " updated_at = ? WHERE id = ?", (HOST, os.getpid(), PROCESS_TOKEN, now, now, int(row_id)))


def _may_be_charged(row: Row, since: float, now: float) -> bool:
    """See :meth:`Journal.uncharged`; ``row`` has no known charge."""
    if row.task_id and row.state in facts.PENDING_STATES:
        return True
    if (row.finished_at or row.created_at) < since:
        return False
    if row.state == UPLOADING:  # nothing sent yet; a claim left this long never will be
        return now - row.created_at < STALE_SUBMIT_S
    if row.state in (SUBMITTING, AMBIGUOUS):  # sent: it may have made a paid task
        return True
    if row.state in _NOT_CHARGED or not row.fingerprint:
        return False
    return bool(row.task_id)  # SUCCESS, downloaded, expired, or a state this pack does not know


def day_start(now: float) -> float:
    """Local midnight of ``now`` (the user's "today")."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(now: float) -> float:
    return datetime.fromtimestamp(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def _reusable(row: Row, now: float) -> bool:
    if not row.task_id or row.state in _NEVER_REUSABLE:  # no task id: the submit's outcome is unknown
        return False
    life = facts.RESULT_URL_LIFETIME_S - REUSE_MARGIN_S
    if row.state == DOWNLOADED and row.has_video:
        return True
    if row.state in (facts.SUCCESS_STATE, DOWNLOADED):  # paid: asked again for a (fresh) video URL
        return now - (row.finished_at or row.updated_at) < life
    # pending, or a state RunningHub added that we do not know: the task id is worth asking about
    return now - (row.submitted_at or row.created_at) < life


