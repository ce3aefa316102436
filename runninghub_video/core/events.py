"""Progress events and cancellation, shared by upload, polling and download."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar

from .errors import Interrupted
from .money import Money
from .waits import current as current_waits

# Where each phase sits on the one bar a node shows, so the bar only ever moves forward; it
# reaches 1.0 only with "done" (a saved video).
BAR_SPANS = {"slot": (0.0, 0.02), "upload": (0.02, 0.08), "submit": (0.08, 0.10), "queued": (0.10, 0.20),
             "running": (0.20, 0.95), "download": (0.95, 0.995)}
APPROACH_AT_ESTIMATE = 0.8  # share of a phase's span reached when its estimated time is up


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run stands, as data only: :func:`.wording.describe` says it in words (en, zh)."""
    phase: str  # in run order: slot, upload, submit, queued, running, download, done
    state: str = ""  # RunningHub task state when known (QUEUED, RUNNING, …, or an unknown one)
    task_id: str = ""
    elapsed_s: float = 0.0  # queued/running: since the task was submitted (or since the wait began, if unknown)
    queued_s: float = 0.0  # time spent in CREATE/QUEUED
    fraction: float | None = None  # 0..1 estimate of overall progress, None if unknown
    eta_s: float | None = None
    price: Money | None = None  # queued/running: the published estimate, or the charge once reported
    charged: bool = False  # ``price`` is what RunningHub charged (else an estimate)
    # the details of each phase: upload {index, count, bytes}; download {bytes_done, bytes_total};
    # submit {fresh_uploads}; queued {resumed} or {joined}; done {reused} or {file};
    # queued/running {eta_range: [lo, hi]} or {late_s}, and {note: "retrying" | "unknown_state"}
    extra: dict = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]



def bar_position(phase: str, within: float) -> float:
    """The bar's position ``within`` (0..1) the span of ``phase``; 1.0 for "done"."""
    if phase == "done":
        return 1.0
    lo, hi = BAR_SPANS[phase]
    return lo + (hi - lo) * min(1.0, max(0.0, within))


def approach(elapsed: float, expected: float) -> float:
    """Progress through a wait of ``expected`` seconds: steady up to 0.8 when the time is up, then
    still growing (towards 1, never reaching it) at a pace that slows but never stops, so a late
    task's bar keeps moving and an early one's never leaps."""
    if elapsed <= 0:
        return 0.0
    x = elapsed / max(expected, 1e-3)
    if x <= 1:
        return APPROACH_AT_ESTIMATE * x
    rest = 1 - APPROACH_AT_ESTIMATE  # the tail keeps the slope it had at x = 1
    return 1 - rest / (1 + APPROACH_AT_ESTIMATE / rest * (x - 1))


def check_cancel(should_cancel: CancelCheck | None, task_id: str = "") -> None:
    """Raise :class:`Interrupted` if the user cancelled."""
    if should_cancel is not None and should_cancel():
        raise Interrupted("Cancelled by the user.", task_id=task_id,
                          advice=fetch_advice(task_id) if task_id else "")


def sleep_interruptibly(seconds: float, should_cancel: CancelCheck | None, task_id: str = "") -> None:
    """Sleep, waking every ``cancel_check_s`` (core/waits.py) to honour a cancel."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        check_cancel(should_cancel, task_id)
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, current_waits().cancel_check_s))


T = TypeVar("T")


def run_interruptibly(fn: Callable[[], T], should_cancel: CancelCheck | None, task_id: str = "") -> T:
    """Run a blocking call (a socket read can block far longer than a tick) in a helper thread and
    give up waiting for it the moment the user cancels. The call itself finishes in the background:
    it must be safe to abandon, or record its own outcome (as the submit does in the journal)."""
    if should_cancel is None:
        return fn()
    outcome: dict = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="runninghub-call", daemon=True).start()
    while not done.wait(current_waits().cancel_check_s):
        check_cancel(should_cancel, task_id)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def fetch_advice(task_id: str) -> str:
    """How to get a task's video later, named in every error that leaves a task behind."""
    return (f"The task {task_id} keeps running on RunningHub and its result stays downloadable for 24 hours: "
            f"queue the same graph again, use the 'RunningHub Fetch Task' node with task id {task_id}, "
            f"or run `python -m runninghub_video fetch {task_id}`.")


_key_locks: dict[tuple, threading.Lock] = {}
_key_locks_guard = threading.Lock()


@contextmanager
def one_at_a_time(key: tuple, should_cancel: CancelCheck | None) -> Iterator[None]:
    """Hold ``key`` (e.g. ("upload", sha256, endpoint)) alone in this process: a second holder (a
    batch's next line, a second node) waits, cancellably, and then finds the first one's result."""
    with _key_locks_guard:
        lock = _key_locks.setdefault(key, threading.Lock())
    while not lock.acquire(timeout=current_waits().cancel_check_s):
        check_cancel(should_cancel)
    try:
        yield
    finally:
        lock.release()
