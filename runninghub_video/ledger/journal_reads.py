"""What is read from the task journal, and the rules those reads apply: which row of a request can
still yield its video without paying again (reuse), what may be charged without a known charge (the
daily budget), queries for the RunningHub tab, the CLI's history, a batch, and the estimate.
"""
from __future__ import annotations

import time
from datetime import datetime

from ..remote import facts
from ..core.money import Money
from .journal_file import JournalFile, rebuilt_on_damage
from .task_table import (ABANDONED, AMBIGUOUS, DOWNLOADED, EXPIRED, REJECTED, SUBMITTING, UPLOADING, FinishedTask,
                         Row, load_request, one, select)

_NEVER_REUSABLE = frozenset({AMBIGUOUS, EXPIRED, REJECTED, ABANDONED}) | facts.TERMINAL_FAILURE_STATES
_NOT_CHARGED = frozenset({REJECTED, ABANDONED}) | facts.TERMINAL_FAILURE_STATES

# Reuse a result URL / pending task id only while at least this much of its 24 h life is left:
# enough time to finish waiting and download a large file before RunningHub forgets it.
REUSE_MARGIN_S = 2 * 3600
# An ambiguous submit blocks automatic re-submits of the same request this long: after it, any
# task it made has expired on RunningHub and can no longer be recovered anyway.
AMBIGUOUS_BLOCK_S = facts.RESULT_URL_LIFETIME_S
STALE_SUBMIT_S = 900.0  # a submit, with all its retries and timeouts, answers well within this


class JournalReads(JournalFile):
    """The journal's reads; each one sees the journal in step with its record (``_db``)."""

    @rebuilt_on_damage
    def row(self, row_id: int) -> Row | None:
        with self._db(write=False) as conn:
            return None if conn is None else one(conn, row_id)

    @rebuilt_on_damage
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
        return next((row for row in rows if reusable(row, now)), None)

    @rebuilt_on_damage
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

    @rebuilt_on_damage
    def list(self, limit: int = 50, site: str | None = None) -> list[Row]:
        """Newest rows first, for the CLI's history and a user hunting for a lost task id."""
        where, params = ("site = ?", [site]) if site is not None else ("1", [])
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, where, params, limit=int(limit))

    @rebuilt_on_damage
    def batch_rows(self, batch_id: str) -> list[Row]:
        """Every row made for a batch, newest first (what it has spent, what it still runs)."""
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, "batch_id = ?", (str(batch_id),))

    @rebuilt_on_damage
    def unanswered_submits(self, endpoint: str, now: float | None = None) -> list[Row]:
        """Ambiguous submits of ``endpoint`` without a task id that still refuse their request."""
        now = time.time() if now is None else now
        with self._db(write=False) as conn:
            return [] if conn is None else select(
                conn, "state = ? AND task_id IS NULL AND endpoint = ? AND created_at > ?",
                (AMBIGUOUS, endpoint, now - AMBIGUOUS_BLOCK_S))

    @rebuilt_on_damage
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

    @rebuilt_on_damage
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

    @rebuilt_on_damage
    def task_rows(self, task_id: str, site: str) -> list[Row]:
        """Every row of one task of ``site``, newest first (a task fetched again has several)."""
        with self._db(write=False) as conn:
            return [] if conn is None else select(conn, "task_id = ? AND site = ?", (str(task_id), site))

    @rebuilt_on_damage
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

    @rebuilt_on_damage
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


def reusable(row: Row, now: float) -> bool:
    """Whether ``row`` can still yield its request's video without paying again (see ``find_reusable``)."""
    if not row.task_id or row.state in _NEVER_REUSABLE:  # no task id: the submit's outcome is unknown
        return False
    life = facts.RESULT_URL_LIFETIME_S - REUSE_MARGIN_S
    if row.state == DOWNLOADED and row.has_video:
        return True
    if row.state in (facts.SUCCESS_STATE, DOWNLOADED):  # paid: asked again for a (fresh) video URL
        return now - (row.finished_at or row.updated_at) < life
    # pending, or a state RunningHub added that we do not know: the task id is worth asking about
    return now - (row.submitted_at or row.created_at) < life


def _may_be_charged(row: Row, since: float, now: float) -> bool:
    """See :meth:`JournalReads.uncharged`; ``row`` has no known charge."""
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

