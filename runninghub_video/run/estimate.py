"""How long a task will queue and run, learnt from the tasks that finished before it.

One estimate per kind of task (model, resolution, duration), kept separately for queue time and
run time, because RunningHub's queue varies far more than the model's speed. Each finished task
moves the figure halfway towards itself (an exponentially weighted mean of log seconds, newest
weight ``WEIGHT``): after a 3× change in run time the estimate is within ~13 % after three tasks,
where a median of the last twenty would not move at all. The weighted spread of the same logs,
plus a prior doubt that shrinks with every sample, gives a range; the status line shows the range
while it is wide ("~0:20–0:40 left") and one figure once it is narrow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Protocol

from ..remote import facts

WEIGHT = 0.5  # share of the newest task in the estimate
PRIOR_SPREAD = 0.5  # log-seconds of doubt with no history (×/÷ 1.65), shrinking as 1/sqrt(1 + n)
MIN_SPREAD = 0.08  # even identical past tasks leave this much doubt (×/÷ 1.08)
SURE_SPREAD = 0.2  # narrower than ×/÷ 1.22: show one figure instead of a range
HISTORY_LIMIT = 200  # newest finished tasks read from the journal


@dataclass(frozen=True)
class Estimate:
    """A duration in seconds: ``mid`` the best guess, ``lo``–``hi`` where it likely falls."""
    mid: float
    lo: float
    hi: float
    samples: int = 0

    @property
    def sure(self) -> bool:
        return math.log((1 + self.hi) / (1 + self.lo)) <= 2 * SURE_SPREAD


@dataclass(frozen=True)
class TaskEstimate:
    queue: Estimate
    run: Estimate


class Finished(Protocol):
    """What the estimator reads of a finished task (journal.FinishedTask has these)."""
    request: dict
    queue_s: float | None
    run_s: float | None


def learn(samples: Iterable[float], prior: float) -> Estimate:
    """Fold ``samples`` (oldest first) into an estimate that starts at ``prior``."""
    mean, var, n = math.log1p(max(0.0, prior)), 0.0, 0
    for seconds in samples:
        x = math.log1p(max(0.0, float(seconds)))
        if n == 0:
            mean = x  # the first real task replaces the prior outright
        else:
            delta = x - mean
            mean += WEIGHT * delta
            var = (1 - WEIGHT) * (var + WEIGHT * delta * delta)
        n += 1
    spread = max(math.sqrt(var), PRIOR_SPREAD / math.sqrt(1 + n), MIN_SPREAD)
    return Estimate(mid=math.expm1(mean), lo=math.expm1(mean - spread), hi=math.expm1(mean + spread), samples=n)


def prior_run_seconds(model: str, resolution: str, duration: str | int) -> float:
    """Run time with no history: the model's typical 720p × 5 s time (models.py), scaled by pixels
    (480p ≈ 0.6×, above 720p 1.5×) and seconds."""
    from ..remote.models import MODELS, V1_LITE

    typical = MODELS.get(str(model), V1_LITE).typical_run_s
    try:
        seconds = float(duration or 5)
    except ValueError:
        seconds = -1.0
    if seconds <= 0:  # "auto" ("-1" on the wire): the model chooses the length [U]
        seconds = 5.0
    scale = {"480p": 0.6, "720p": 1.0}.get(resolution, 1.5)
    return max(15.0, typical * scale * seconds / 5.0)


def kind_of(request: dict) -> tuple[str, str, str]:
    """(model, resolution, duration) of a stored request; rows from before the model was stored are v1-lite."""
    from ..remote.models import V1_LITE

    return (str(request.get("model") or V1_LITE.id), str(request.get("resolution") or ""),
            str(request.get("duration") or ""))


def estimate(history: Iterable[Finished], model: str, resolution: str, duration: str | int) -> TaskEstimate:
    """Queue and run time for a task of this kind, from ``history`` (oldest first)."""
    kind = (str(model), str(resolution), str(duration))
    same = [task for task in history if kind_of(task.request) == kind]
    return TaskEstimate(
        queue=learn((t.queue_s for t in same if t.queue_s is not None), facts.TYPICAL_QUEUE_S),
        run=learn((t.run_s for t in same if t.run_s is not None and t.run_s > 0),
                  prior_run_seconds(model, resolution, duration)))


def from_journal(journal, endpoint: str, model: str, resolution: str, duration: str | int) -> TaskEstimate:
    """The estimate for a new task, from the journal's finished tasks made through this endpoint."""
    return estimate(journal.finished_tasks(endpoint, HISTORY_LIMIT), model, resolution, duration)
