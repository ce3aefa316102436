"""Progress events and cancellation, shared by upload, polling and download."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .errors import Interrupted

# phases, in the order a run goes through them
PHASES = ("validate", "slot", "upload", "submit", "queued", "running", "download", "decode", "done")


@dataclass(frozen=True)
class ProgressEvent:
    phase: str  # one of PHASES
    message: str = ""  # short human text, e.g. "RUNNING · 0:41 elapsed · 0:12 in queue"
    state: str = ""  # RunningHub task state when known (QUEUED, RUNNING, …, or an unknown one)
    task_id: str = ""
    elapsed_s: float = 0.0  # since submit
    queued_s: float = 0.0  # time spent in CREATE/QUEUED
    fraction: Optional[float] = None  # 0..1 estimate of overall progress, None if unknown
    eta_s: Optional[float] = None
    price: Optional[str] = None  # e.g. "0.75 CNY", once known
    extra: dict = field(default_factory=dict)


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]

CANCEL_CHECK_INTERVAL_S = 0.25  # well inside the 0.5 s promise


def never_cancel() -> bool:
    return False


def check_cancel(should_cancel: CancelCheck | None, task_id: str = "") -> None:
    """Raise :class:`Interrupted` if the user cancelled."""
    if should_cancel is not None and should_cancel():
        raise Interrupted("Cancelled by the user.", task_id=task_id,
                          advice=fetch_advice(task_id) if task_id else "")


def sleep_interruptibly(seconds: float, should_cancel: CancelCheck | None, task_id: str = "") -> None:
    """Sleep, waking every CANCEL_CHECK_INTERVAL_S to honour a cancel."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        check_cancel(should_cancel, task_id)
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, CANCEL_CHECK_INTERVAL_S))


def fetch_advice(task_id: str) -> str:
    """How to get a task's video later, named in every error that leaves a task behind."""
    return (f"The task {task_id} keeps running on RunningHub and its result stays downloadable for 24 hours: "
            f"queue the same graph again, use the 'RunningHub Fetch Task' node with task id {task_id}, "
            f"or run `python -m runninghub_video fetch {task_id}`.")


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
