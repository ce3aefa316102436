"""Waiting for a task: adaptive query schedule, live progress, prompt cancel.

The loop ticks every CANCEL_CHECK_INTERVAL_S: each tick checks Cancel and, once a second, emits
a progress event computed from the clock. Queries happen only when :func:`next_query_delay`
says so — sparse while the task is far from its expected end, dense near it.
"""
from __future__ import annotations

import time
from typing import Callable

from . import facts
from .api import RunningHubClient
from .wire import TaskStatus
from .errors import (RateLimitError, ServiceError, TaskFailedError, TaskNotFoundError, TransportError,
                     WaitTimeoutError)
from .events import (CANCEL_CHECK_INTERVAL_S, CancelCheck, ProgressCallback, ProgressEvent, check_cancel,
                     fetch_advice, format_duration)

QUEUED_POLL_S = 3.0
DENSE_POLL_S = 0.4  # near the expected end: mean added latency ~0.2 s
DENSE_WINDOW_S = 2.0  # start dense polling this long before the expected end
MAX_POLL_S = 10.0
# The expectation may be a cold prior (no journal history yet) that is off by a third either way,
# so between BAND_START × expected and the dense window, and after the expected end until
# LATE_UNTIL × expected, steps stay short; a 60 s task still costs ≤ 25 queries (see bench/).
BAND_START = 0.7
BAND_POLL_S = 2.0
LATE_SLOPE = 0.4  # past the expected end the step grows 0.4 s per second of lateness …
LATE_POLL_S = 3.0  # … up to this, until LATE_UNTIL × expected; then up to MAX_POLL_S
LATE_UNTIL = 1.6
QUERY_FAILURE_GRACE_S = 120.0  # keep trying queries that fail for this long in a row
NEW_TASK_NOT_FOUND_GRACE_S = 15.0  # [U] a fresh task might not be queryable at once
EMIT_EVERY_S = 1.0
NOTES = {"retrying": "connection trouble, retrying", "unknown_state": "unknown state {state!r}, still waiting"}


def next_query_delay(state: str, running_for: float, expected_run_s: float, waited_s: float = 0.0) -> float:
    """Seconds until the next query, from what is known of the task so far.

    ``waited_s`` is the time since submit: a queue has no expected end, so its polls start at
    1 s and stretch to QUEUED_POLL_S as the wait grows.
    """
    if state in facts.QUEUED_STATES or state not in facts.PENDING_STATES:
        return min(QUEUED_POLL_S, 1.0 + waited_s / 10.0)
    remaining = expected_run_s - running_for
    if remaining > DENSE_WINDOW_S:
        # halve the distance to the dense window each time: few queries, never overshooting it
        step = (remaining - DENSE_WINDOW_S) / 2 + DENSE_POLL_S
        if running_for >= BAND_START * expected_run_s:
            step = min(step, BAND_POLL_S)
        return min(MAX_POLL_S, max(DENSE_POLL_S, step))
    late = max(0.0, -remaining)
    # the estimate was short: widen the step as lateness grows, 0.4 s → … → LATE_POLL_S → MAX_POLL_S
    cap = LATE_POLL_S if running_for < LATE_UNTIL * expected_run_s else MAX_POLL_S
    return min(cap, DENSE_POLL_S + LATE_SLOPE * late)


def expected_run_seconds(resolution: str, duration: str, typical_run_s: float = facts.TYPICAL_RUN_S) -> float:
    """A prior for RUNNING time when the journal has no history; ``typical_run_s`` is the model's
    720p × 5 s time (v1-lite: ≈ 60 s observed [S])."""
    seconds = float(duration or 5)
    scale = {"480p": 0.6, "720p": 1.0}.get(resolution, 1.5)
    return max(15.0, typical_run_s * scale * seconds / 5.0)


class _Progress:
    """Turns clock and state into the one-line status the node and CLI show."""

    def __init__(self, task_id: str, expected_run_s: float, on_progress: ProgressCallback | None,
                 submitted_at: float, price: str) -> None:
        self.task_id = task_id
        self.price = price
        self.expected = expected_run_s
        self.on_progress = on_progress
        self.submitted_at = submitted_at
        self.state = ""
        self.queued_s = 0.0
        self.state_since = submitted_at
        self.running_since: float | None = None
        self.note = ""  # a key of NOTES
        self.last_emit = 0.0

    def set_state(self, state: str, now: float) -> bool:
        if state == self.state:
            return False
        if self.state in facts.QUEUED_STATES:
            self.queued_s += now - self.state_since
        if state == "RUNNING":
            self.running_since = now
        self.state, self.state_since = state, now
        return True

    def running_for(self, now: float) -> float:
        return now - self.running_since if self.running_since is not None else 0.0

    def emit(self, now: float, force: bool = False) -> None:
        if self.on_progress is None or (not force and now - self.last_emit < EMIT_EVERY_S):
            return
        self.last_emit = now
        queued = self.queued_s + (now - self.state_since if self.state in facts.QUEUED_STATES else 0.0)
        elapsed = now - self.submitted_at
        eta = fraction = None
        if self.state == "RUNNING":
            eta = max(0.0, self.expected - self.running_for(now))
            fraction = min(0.97, self.running_for(now) / self.expected) if self.expected else None
        parts = [self.state or "SUBMITTED", f"{format_duration(elapsed)} elapsed"]
        if queued >= 1:
            parts.append(f"{format_duration(queued)} in queue")
        if eta is not None:
            parts.append(f"~{format_duration(eta)} left" if eta > 0 else "finishing")
        if self.price:
            parts.append(self.price)
        if self.note:
            parts.append(NOTES[self.note].format(state=self.state))
        phase = "queued" if self.state in facts.QUEUED_STATES or not self.state else "running"
        self.on_progress(ProgressEvent(phase=phase, message=" · ".join(parts), state=self.state,
                                       task_id=self.task_id, elapsed_s=elapsed, queued_s=queued,
                                       fraction=fraction, eta_s=eta, price=self.price or None,
                                       extra={"note": self.note} if self.note else {}))


def wait_for_task(client: RunningHubClient, task_id: str, *, timeout_s: float = facts.DEFAULT_TIMEOUT_S,
                  expected_run_s: float = facts.TYPICAL_RUN_S, on_progress: ProgressCallback | None = None,
                  should_cancel: CancelCheck | None = None, on_state: Callable[[TaskStatus], None] | None = None,
                  initial: TaskStatus | None = None, submitted_at: float | None = None,
                  price: str = "", currency: str = "") -> TaskStatus:
    """Block until the task succeeds; raise a typed error if it fails, times out or is cancelled.

    ``on_state`` sees every answer whose state differs from the last (for the journal). ``price``
    is shown until the task reports what it cost (then ``TaskStatus.cost`` + ``currency``).
    """
    start = time.monotonic()
    progress = _Progress(task_id, expected_run_s, on_progress, submitted_at or start, price)
    last: TaskStatus | None = None
    failing_since: float | None = None
    next_query = start

    def handle(status: TaskStatus, now: float) -> TaskStatus | None:
        nonlocal last
        if status.cost:
            progress.price = f"{status.cost} {currency}".strip()
        if last is None or status.status != last.status:
            if on_state is not None:
                on_state(status)
            progress.set_state(status.status, now)
            progress.emit(now, force=True)
        last = status
        if status.status == facts.SUCCESS_STATE:
            if not status.video_url:
                raise TaskFailedError("The task succeeded but returned no video URL.", task_id=task_id,
                                      advice=fetch_advice(task_id))
            return status
        if status.status in facts.TERMINAL_FAILURE_STATES or (status.error_code and not status.is_pending):
            if status.status == "CANCEL":
                raise TaskFailedError(f"Task {task_id} was cancelled on RunningHub.", task_id=task_id)
            raise facts.error_for_code(status.error_code or "1015", status.failure_text(), task_id=task_id,
                                 context=f"Task {task_id} failed: ")
        progress.note = "" if status.is_pending else "unknown_state"
        return None

    if initial is not None:
        done = handle(initial, start)
        if done is not None:
            return done
        next_query = start + next_query_delay(initial.status, 0.0, expected_run_s)

    while True:
        check_cancel(should_cancel, task_id)
        now = time.monotonic()
        if now - start > timeout_s:
            raise WaitTimeoutError(f"Stopped waiting for task {task_id} after {format_duration(timeout_s)}.",
                                   task_id=task_id, advice=fetch_advice(task_id))
        if now >= next_query:
            try:
                status = client.query(task_id, should_cancel)
                failing_since = None
                progress.note = ""
            except TaskNotFoundError:
                if now - (submitted_at or start) > NEW_TASK_NOT_FOUND_GRACE_S or last is not None:
                    raise
                status = None
            except (TransportError, ServiceError, RateLimitError) as exc:  # passing trouble: keep waiting
                failing_since = failing_since or now
                if now - failing_since > QUERY_FAILURE_GRACE_S:
                    raise type(exc)(f"Lost contact while waiting for task {task_id}: {exc}", task_id=task_id,
                                    advice=fetch_advice(task_id)) from None
                progress.note = "retrying"
                status = None
            now = time.monotonic()
            if status is not None:
                done = handle(status, now)
                if done is not None:
                    return done
            state = last.status if last else ""
            next_query = now + next_query_delay(state, progress.running_for(now), expected_run_s,
                                                now - progress.submitted_at)
        progress.emit(now)
        time.sleep(max(0.0, min(CANCEL_CHECK_INTERVAL_S, next_query - time.monotonic())) or 0.01)
