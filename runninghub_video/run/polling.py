"""Waiting for a task: a query schedule with a hard bound, an honest status event, prompt cancel.

The rules of the schedule (:class:`QuerySchedule`), in order of precedence; every time is a field
of :mod:`..core.waits` (production values in parentheses):

1. **Bound.** Once the task is RUNNING, queries are at most ``query_gap_s`` (2 s) apart, so a
   finished task is noticed within 2 s (1 s on average). While the budget allows, the gap also
   leaves room for the query's own round trip.
2. **Budget.** Across a task, at most one query per ``query_gap_s`` of task time (30 per
   task-minute): a bucket fills at that rate from submit and every query takes one. Rule 1 at
   exactly the bound costs exactly the budget, so the bound never breaks it.
3. **Queue.** While QUEUED the gaps fall off (2 s, 2.5 s, … up to 5 s, never sparser than the
   official pack's 5 s poll), which is what pays for rule 1's round-trip margin.

The estimate drives only the ETA text and the bar, never the queries. The loop ticks every
``cancel_check_s`` to honour Cancel and emits a status event every ``progress_every_s``; its data
and the bar come from the clock and the estimate (:class:`_Progress`), its words from :mod:`..words.wording`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from ..remote import error_codes, facts
from ..remote.api import RunningHubClient
from ..remote.wire import TaskStatus
from ..core.errors import (DownloadError, RateLimitError, ServiceError, TaskFailedError, TaskNotFoundError, TransportError,
                     WaitTimeoutError)
from .estimate import TaskEstimate
from ..core.money import Money
from ..core.waits import Waits, current as current_waits
from ..core.events import (CancelCheck, ProgressCallback, ProgressEvent, approach, bar_position,
                     check_cancel, fetch_advice)
from ..words.wording import format_duration

BUDGET_BANK = 8.0  # at most this many saved queries (a task resumed hours later gets no burst)
RESUMED_BANK = 1.0  # a resumed wait starts with this much saved: enough for rule 1's round-trip margin


class QuerySchedule:
    """When to ask about a task next. Every time here is seconds since submit."""

    def __init__(self, now: float = 0.0, running_since: float | None = None, resumed: bool = False,
                 waits: Waits | None = None) -> None:
        """``now``: when waiting starts (a resumed task starts late); ``running_since``: when it is
        known to have started running (the journal's best guess), if it is. ``resumed``: an earlier
        wait for this task was given up (Cancel, a closed ComfyUI); it stopped querying then, so this
        one starts with RESUMED_BANK saved queries."""
        self.waits = waits or current_waits()
        self._bank, self._bank_at = (RESUMED_BANK if resumed else 0.0), now
        # until an answer says otherwise, the run can have started at any moment since the submit
        self.last_queued_at = 0.0 if running_since is None else running_since
        self.first_running_at = running_since
        self.start_seen = running_since is not None  # the start lies between two answers (or the journal knows it)
        self._queued_answers = 0

    def budget(self, t: float) -> float:
        """Saved queries at ``t`` (a query is sent only once it is paid for, so this stays ≥ 0)."""
        return min(BUDGET_BANK, self._bank + max(0.0, t - self._bank_at) / self.waits.query_gap_s)

    def sent(self, t: float) -> None:
        self._bank, self._bank_at = self.budget(t) - 1.0, t

    def answered(self, t: float, state: str) -> None:
        """The answer to the query sent at ``t`` said ``state``."""
        if state in facts.QUEUED_STATES:
            self.last_queued_at = t
            self._queued_answers += 1
            self.start_seen = True
        elif state and self.first_running_at is None:
            self.first_running_at = t

    def start_window(self) -> tuple[float, float] | None:
        """Earliest and latest moment the run can have started, once it is known to have."""
        if self.first_running_at is None:
            return None
        return min(self.last_queued_at, self.first_running_at), self.first_running_at

    def next_query_at(self, t: float, round_trip_s: float = 0.0) -> float:
        """When to send the next query, given that the last one went out at ``t``."""
        w = self.waits
        if self.first_running_at is None:  # submitted or queued: no end in sight yet
            return t + min(w.queued_max_gap_s, w.queued_first_gap_s + w.queued_gap_growth_s * self._queued_answers)
        # a gap shorter than the bound by m costs m / query_gap_s of the budget: take the margin only from savings
        margin = min(w.query_gap_s / 4, max(w.notice_margin_s, round_trip_s), w.query_gap_s * max(0.0, self.budget(t)))
        return t + w.query_gap_s - margin


@dataclass
class Timing:
    """What waiting learnt about a task, for the journal (epoch seconds)."""
    # Both only when seen between two answers of this wait (or known from the journal): a resumed or
    # fetched task whose first answer is RUNNING may have started any time since the submit, and
    # the estimate must not learn a guess.
    running_at: float | None = None  # halfway between the last QUEUED and the first RUNNING answer
    run_seconds: float | None = None  # from then to halfway between the last RUNNING and the SUCCESS answer


class _Progress:
    """Turns clock, state and estimate into the status event (as data) and the bar position."""

    def __init__(self, task_id: str, estimate: TaskEstimate, on_progress: ProgressCallback | None,
                 submitted_at: float, price: Money | None, queued_s: float | None = None,
                 running_since: float | None = None) -> None:
        self.task_id = task_id
        self.price = price  # the published estimate, until the task reports its charge
        self.charged = False
        self.estimate = estimate
        self.on_progress = on_progress
        self.submitted_at = submitted_at
        self.state = ""
        self.known_queued_s = queued_s  # a resumed task's queue time, from the journal
        self.queued_s = 0.0
        self.state_since = submitted_at
        self.running_since = running_since
        self.note = ""  # "retrying" or "unknown_state" (worded in wording.LINES)
        self.last_tick: int | None = None  # the last whole ``progress_every_s`` of elapsed time shown
        self.last_fraction = 0.0
        self.shown_queued_s = 0.0  # the queue time shown once a state is known never steps back (one clock)
        self.silent_since: float | None = None  # when the first query still unanswered went out
        self.told_silent = False  # the line said RunningHub is not answering
        self.back_until = 0.0  # until then the line says RunningHub answers again

    @property
    def in_queue(self) -> bool:
        """Submitted (no state known yet) or queued: the time counts as queue time."""
        return not self.state or self.state in facts.QUEUED_STATES

    def set_state(self, state: str, now: float, started_at: float | None = None) -> bool:
        """``started_at``: the best guess of when RUNNING began (defaults to ``now``)."""
        if state == self.state:
            return False
        if self.in_queue:
            until = now if state != "RUNNING" or started_at is None else max(self.state_since, min(now, started_at))
            self.queued_s += until - self.state_since
        if state == "RUNNING" and self.running_since is None:
            self.running_since = now if started_at is None else min(now, started_at)
        self.state, self.state_since = state, now
        return True

    def query_sent(self, now: float) -> None:
        if self.silent_since is None:
            self.silent_since = now

    def query_answered(self, now: float) -> None:
        """An answer came: a silence the line told of ends with "answers again" for a few seconds."""
        if self.told_silent:
            self.back_until = now + current_waits().unreachable_after_s
        self.silent_since, self.told_silent = None, False

    def _silence(self, now: float) -> dict:
        """The note of a silent RunningHub ({note, silent_s}), once no answer came for
        ``unreachable_after_s``; "answers again" right after; else the run's own note."""
        if self.silent_since is not None and now - self.silent_since >= current_waits().unreachable_after_s:
            self.told_silent = True
            return {"note": "unreachable", "silent_s": now - self.silent_since}
        if now < self.back_until and not self.note:
            return {"note": "answering_again"}
        return {"note": self.note} if self.note else {}

    def running_for(self, now: float) -> float:
        return max(0.0, now - self.running_since) if self.running_since is not None else 0.0

    def queued_for(self, now: float) -> float:
        if self.known_queued_s is not None:
            return self.known_queued_s
        return self.queued_s + (now - self.state_since if self.in_queue else 0.0)

    def outlook(self, now: float) -> tuple[float | None, dict]:
        """(eta, data): the data says "late" ({late_s}) or "unsure" ({eta_range}); eta < 1 is finishing."""
        run = self.estimate.run
        if self.state == "RUNNING":
            so_far = self.running_for(now)
            if so_far > run.hi:
                return None, {"late_s": so_far}
            lo, hi, mid = max(0.0, run.lo - so_far), run.hi - so_far, max(0.0, run.mid - so_far)
        elif self.in_queue:
            queue, queued = self.estimate.queue, self.queued_for(now)
            lo = max(0.0, queue.lo - queued) + run.lo
            hi = max(0.0, queue.hi - queued) + run.hi
            mid = max(0.0, queue.mid - queued) + run.mid
        else:
            return None, {}
        if hi < 1 or (run.sure and (self.state == "RUNNING" or self.estimate.queue.sure)):
            return mid, {}
        return mid, {"eta_range": [lo, hi]}

    def fraction(self, now: float) -> float | None:
        """Where the bar stands: grows with time against the estimate, never back, never full."""
        if self.state == "RUNNING":
            position = bar_position("running", approach(self.running_for(now), self.estimate.run.mid))
        elif self.in_queue:
            position = bar_position("queued", approach(self.queued_for(now), self.estimate.queue.mid))
        else:
            return None
        self.last_fraction = max(self.last_fraction, position)
        return self.last_fraction

    def emit(self, now: float, force: bool = False) -> None:
        """A status event at each whole ``progress_every_s`` of elapsed time (so the seconds shown
        never skip one while the loop ticks faster), and at once when ``force``d."""
        if self.on_progress is None:
            return
        tick = int((now - self.submitted_at) // current_waits().progress_every_s)
        if not force and tick == self.last_tick:
            return
        self.last_tick = tick
        eta, extra = self.outlook(now)
        extra = {**extra, **self._silence(now)}
        queued = max(self.shown_queued_s, self.queued_for(now))
        if self.state:  # counted from an answer: never shown less later (a state not yet known is a guess)
            self.shown_queued_s = queued
        phase = "queued" if self.in_queue else "running"
        self.on_progress(ProgressEvent(phase=phase, state=self.state, task_id=self.task_id,
                                       elapsed_s=now - self.submitted_at, queued_s=queued,
                                       fraction=self.fraction(now), eta_s=eta, price=self.price, charged=self.charged,
                                       extra=extra))


class QueryGrace:
    """How long queries may fail in a row before waiting gives up (one of the retry policies).

    A passing outage must not cost a paid video, so transport errors, 5xx and rate limits are
    tolerated for ``seconds`` in a row; the first answer resets the clock.
    """
    ERRORS = (TransportError, ServiceError, RateLimitError)

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = current_waits().query_failure_grace_s if seconds is None else seconds
        self.failing_since: float | None = None

    def succeeded(self) -> None:
        self.failing_since = None

    def failed(self, exc: Exception, now: float, task_id: str) -> None:
        """Raise if the failures have lasted too long; else return and let the caller retry."""
        self.failing_since = self.failing_since or now
        if now - self.failing_since > self.seconds:
            raise type(exc)(f"Lost contact while waiting for task {task_id}: {exc}", task_id=task_id,
                            advice=fetch_advice(task_id)) from None


@dataclass(frozen=True)
class TaskWait:
    """A task to wait for and what is known of it before the first query (times: ``time.monotonic()``)."""
    task_id: str
    estimate: TaskEstimate
    initial: TaskStatus | None = None  # the submit's own answer; None: an earlier task (resumed or fetched)
    submitted_at: float | None = None  # the real submit (earlier for a resumed task); None: now
    running_since: float | None = None  # when a resumed task is known to have started running
    price: Money | None = None  # an estimate, shown until the task reports what it cost (``TaskStatus.cost``)
    made: bool = False  # an earlier task the journal saw this pack submit (a request's), not an id pasted in
    # an earlier wait ended NOT_FOUND_YET for this task: made (its submit answered with its id) and found
    # by no query since, so "not found" means that again, not "gone"
    unfound: bool = False


def wait_for_task(client: RunningHubClient, task: TaskWait, *, timeout_s: float = facts.DEFAULT_TIMEOUT_S,
                  on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
                  on_state: Callable[[TaskStatus, Timing], None] | None = None) -> TaskStatus:
    """Block until the task succeeds; raise a typed error if it fails, times out or is cancelled.

    ``on_state`` sees every answer whose state differs from the last, with what is known of the
    timing (for the journal)."""
    return _Wait(client, task, on_progress, should_cancel, on_state).until_done(timeout_s)


class _Wait:
    """One wait for one task: what the answers taught so far, and the loop's steps. Times are
    ``time.monotonic()``; the schedule counts seconds since submit, the journal epoch seconds."""

    def __init__(self, client: RunningHubClient, task: TaskWait, on_progress: ProgressCallback | None,
                 should_cancel: CancelCheck | None, on_state: Callable[[TaskStatus, Timing], None] | None) -> None:
        self.client, self.task_id, self.initial = client, task.task_id, task.initial
        self.should_cancel, self.on_state = should_cancel, on_state
        self.start = time.monotonic()
        self.submitted = task.submitted_at if task.submitted_at is not None else self.start
        self.wall = time.time() - self.start  # monotonic → epoch, for the journal
        since = task.running_since
        self.progress = _Progress(self.task_id, task.estimate, on_progress, self.submitted, task.price,
                                  queued_s=None if since is None else max(0.0, since - self.submitted),
                                  running_since=since)
        self.schedule = QuerySchedule(self.start - self.submitted, None if since is None else since - self.submitted,
                                      resumed=task.initial is None)
        self.grace = QueryGrace()
        self.timing = Timing(running_at=None if since is None else since + self.wall)
        self.began = since  # when it started running: the best guess, also where the journal cannot know
        self.last: TaskStatus | None = None
        self.found = False  # a query found the task (the submit's own answer does not prove a query will [U])
        # made by this run, or seen submitted by the journal; a pasted id nobody saw submitted gets no grace
        self.seen_submitted = task.initial is not None or task.made
        self.made_unfound = task.initial is not None or task.unfound  # made, and no query has found it yet
        self.last_running_sent: float | None = None  # when the last query that still saw RUNNING went out
        self.next_query = self.start

    def until_done(self, timeout_s: float) -> TaskStatus:
        """Query on the schedule, ticking every ``cancel_check_s`` between queries for Cancel and the line."""
        if self.initial is not None:
            if self._take(self.initial, self.start, self.start):
                return self.initial
            self._plan_next_query(self.start, self.start)
        while True:
            check_cancel(self.should_cancel, self.task_id)
            now = time.monotonic()
            if now - self.start > timeout_s:
                raise WaitTimeoutError(f"Stopped waiting for task {self.task_id} after {format_duration(timeout_s)}.",
                                       task_id=self.task_id, advice=fetch_advice(self.task_id))
            if now >= self.next_query:
                sent = now
                status = self._ask(sent)
                now = time.monotonic()
                if status is not None and self._take(status, sent, now):
                    return status
                self._plan_next_query(sent, now)
            self.progress.emit(now)
            time.sleep(max(0.0, min(current_waits().cancel_check_s, self.next_query - time.monotonic())) or 0.01)

    def _plan_next_query(self, sent: float, answered: float) -> None:
        """The schedule's next query after the one ``sent`` (its round trip ended at ``answered``)."""
        self.next_query = self.submitted + self.schedule.next_query_at(sent - self.submitted, answered - sent)

    def _ask(self, sent: float) -> TaskStatus | None:
        """One query; None when it brought no state: a passing failure (within :class:`QueryGrace`)
        or a task too new to be found yet (:meth:`_not_found`)."""
        self.schedule.sent(sent - self.submitted)
        self.progress.query_sent(sent)
        try:
            status = self.client.query(self.task_id, self._ticking)
        except TaskNotFoundError as exc:
            self.progress.query_answered(time.monotonic())
            self._not_found(exc, sent)
            return None
        except QueryGrace.ERRORS as exc:  # passing trouble: keep waiting
            self.grace.failed(exc, sent, self.task_id)
            self.progress.note = "retrying"
            return None
        self.grace.succeeded()
        self.found = True
        self.progress.query_answered(time.monotonic())
        self.progress.note = ""
        return status

    def _not_found(self, exc: TaskNotFoundError, sent: float) -> None:
        """"Not found" (1004) for the query ``sent``: no answer yet while a task no query has found is
        new (it might not be queryable at once [U]); else the error."""
        if not self.found and self.seen_submitted and sent - self.submitted <= current_waits().new_task_not_found_grace_s:
            return
        if self.found or not self.made_unfound:  # gone, or an earlier id RunningHub does not know
            raise exc
        # a task made (its id proves it) that no query found, in this wait or an earlier one: it may still
        # appear [U], so it stays the request's task (not expired): queuing again asks again, never pays again
        raise TaskNotFoundError(f"RunningHub made task {self.task_id} but still did not find it "
                                f"{format_duration(sent - self.submitted)} after the submit (error 1004).",
                                code=TaskNotFoundError.NOT_FOUND_YET, task_id=self.task_id,
                                server_message=exc.server_message, advice=fetch_advice(self.task_id)) from None

    def _ticking(self) -> bool:
        """Polled while a query is out: the line's clock keeps going, and a silent RunningHub is told."""
        self.progress.emit(time.monotonic())
        return bool(self.should_cancel is not None and self.should_cancel())

    def _take(self, status: TaskStatus, sent: float, now: float) -> bool:
        """Learn from the answer to the query ``sent``, show a new state, and say whether the task
        is done (raises if it failed)."""
        if status.cost is not None:
            self.progress.price, self.progress.charged = status.cost, True
        self.schedule.answered(sent - self.submitted, status.status)
        self._learn_timing(status, sent)
        if self.last is None or status.status != self.last.status:
            if self.on_state is not None:
                self.on_state(status, self.timing)
            self.progress.set_state(status.status, now, self.began)
            self.progress.emit(now, force=True)
        self.last = status
        if _finished(status, self.task_id, self.client.settings.site):
            return True
        self.progress.note = "" if status.is_pending else "unknown_state"
        return False

    def _learn_timing(self, status: TaskStatus, sent: float) -> None:
        """When the run began (halfway through the window the answers leave) and, at SUCCESS, how long it ran."""
        if status.status == "RUNNING":
            if self.began is None:
                window = self.schedule.start_window()
                self.began = self.submitted + (window[0] + window[1]) / 2 if window else sent
                if self.schedule.start_seen:
                    self.timing.running_at = self.began + self.wall
            self.last_running_sent = sent
        elif (status.status == facts.SUCCESS_STATE and self.timing.running_at is not None
              and self.last_running_sent is not None):
            self.timing.run_seconds = max(0.0, (sent + self.last_running_sent) / 2 + self.wall - self.timing.running_at)


def _finished(status: TaskStatus, task_id: str, site: str) -> bool:
    """What an answer means for the wait: True for a video to fetch, False while the task is pending
    (or in a state not known); the typed error if it failed or finished without a usable link."""
    if status.status == facts.SUCCESS_STATE:
        if not status.video_url:  # the task is paid: its id stays, and asking again may bring the URL
            raise DownloadError(f"RunningHub says task {task_id} finished (it is paid), but its answer held "
                                "no usable video link.", task_id=task_id,
                                advice=f"Queue the same graph again later: the pack asks RunningHub about task "
                                       f"{task_id} again and never submits it anew. Or put {task_id} into the "
                                       "RunningHub Fetch Task node (or run `python -m runninghub_video fetch "
                                       f"{task_id}`).")
        return True
    if status.status in facts.TERMINAL_FAILURE_STATES or (status.error_code and not status.is_pending):
        if status.status == "CANCEL":
            raise TaskFailedError(f"Task {task_id} was cancelled on RunningHub.", task_id=task_id)
        failure = error_codes.error_for_code(status.error_code or "1015", status.failure_text(), task_id=task_id,
                                             site=site, context=f"Task {task_id} failed: ")
        failure.cost = status.cost  # what the answer says was charged (the 1505 advice reads it)
        raise failure
    return False
