"""Every time the client waits by, in one place: the poll schedule, graces, claim and heartbeat
intervals, the retry pauses.

Code reads :func:`current` at the moment it waits (it never copies a value at import), so a test
suite can run the very same rules on a faster clock with :func:`use` — the replicate-python idea
of an injectable poll interval, for every wait at once. Production always runs on :data:`PRODUCTION`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Waits:
    """How long the client waits, in seconds (``retry_pause_scale`` is a factor)."""
    cancel_check_s: float = 0.25  # every wait looks at Cancel this often: well inside "stops within a second"
    # waiting for a task (run/polling.py): once RUNNING, queries at most this far apart — a finished
    # task is noticed within it; and on average no more than one query per this many seconds of task
    query_gap_s: float = 2.0
    notice_margin_s: float = 0.05  # at least this much of a gap is left for the answer's way back
    queued_first_gap_s: float = 2.0  # while QUEUED, gaps grow from this …
    queued_gap_growth_s: float = 0.5  # … by this per QUEUED answer …
    queued_max_gap_s: float = 5.0  # … up to the official pack's 5 s poll
    query_failure_grace_s: float = 120.0  # queries may fail this long in a row before waiting gives up
    new_task_not_found_grace_s: float = 15.0  # [U] a fresh task might not be queryable at once
    progress_every_s: float = 1.0  # a status event at least this often
    unreachable_after_s: float = 6.0  # no answer to queries this long: the line says RunningHub is silent
    # a reference converted for real people (run/real_person.py): how long that takes is unknown [U]
    asset_first_gap_s: float = 0.25  # the first look at a new conversion; gaps double …
    asset_max_gap_s: float = 2.0  # … up to this
    asset_timeout_s: float = 600.0  # one conversion's limit; its id is kept, so a later run resumes it
    # one request, one payment (ledger/journal.py, run/pipeline.py)
    claim_wait_s: float = 0.5  # a run waiting on an identical run's claim looks at its row this often
    heartbeat_s: float = 5.0  # a claimant refreshes its row this often
    stale_after_s: float = 45.0  # a claim not refreshed for this long has lost its owner
    # transfers (remote/http.py, remote/download.py)
    retry_pause_scale: float = 1.0  # every back-off pause of http.POLICIES is multiplied by this
    stall_window_s: float = 30.0  # a download slower than STALL_MIN_BYTES in this long is retried


PRODUCTION = Waits()
_current = PRODUCTION


def current() -> Waits:
    """The waits in force now (:data:`PRODUCTION` unless a test suite said otherwise)."""
    return _current


def use(waits: Waits) -> Waits:
    """Run every later wait by ``waits``; returns the ones in force before (for tests)."""
    global _current
    previous, _current = _current, waits
    return previous
