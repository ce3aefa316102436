"""The waiting rules: the query schedule's bound and budget, the estimate, the bar, the status line.

The schedule is a pure function of what the task answered, so these tests drive it through whole
simulated tasks (any queue time, run time, round trip, a resumed wait) instead of waiting on a clock;
the estimate never moves a query, it only feeds the ETA text and the bar.
"""
from __future__ import annotations

import random
import re

import pytest

from ..runninghub_video.run import estimate as est
from ..runninghub_video.run.estimate import Estimate, TaskEstimate
from ..runninghub_video.core.events import ProgressEvent, bar_position
from ..runninghub_video.run.pipeline import generate
from ..runninghub_video.core.waits import PRODUCTION
from ..runninghub_video.run.polling import QuerySchedule, _Progress
from ..runninghub_video.remote.request import VideoRequest
from ..runninghub_video.words.wording import describe

from conftest import ending_once_running, solid_images, wait_until

MAX_GAP_S, NOTICE_MARGIN_S, QUEUED_MAX_GAP_S = PRODUCTION.query_gap_s, PRODUCTION.notice_margin_s, PRODUCTION.queued_max_gap_s


def simulate(queue_s: float, run_s: float, round_trip_s: float = 0.0,
             resumed_at: float = 0.0) -> list[tuple[float, str]]:
    """Every query of one task on the production schedule, as (seconds since submit, state
    answered), until SUCCESS is seen. ``resumed_at``: a later wait for a task submitted at 0."""
    schedule = QuerySchedule(now=resumed_at, resumed=resumed_at > 0, waits=PRODUCTION)
    schedule.answered(resumed_at, "QUEUED" if resumed_at < queue_s else "RUNNING")
    t, asked = resumed_at, []
    t = schedule.next_query_at(t)
    while True:
        schedule.sent(t)
        state = "QUEUED" if t < queue_s else "RUNNING" if t < queue_s + run_s else "SUCCESS"
        schedule.answered(t, state)
        asked.append((t, state))
        if state == "SUCCESS":
            return asked
        t = schedule.next_query_at(t, round_trip_s)


def many_tasks(count: int = 400) -> list[dict]:
    """Tasks of every kind, the same on every run: short and long queues and runs, round trips
    from none to a slow second, some waited for from the submit, some resumed later."""
    rng = random.Random(20)
    tasks = []
    for i in range(count):
        queue_s, run_s = rng.choice((0.0, 0.3, rng.uniform(0, 10), rng.uniform(0, 120))), rng.uniform(0.5, 300)
        tasks.append(dict(queue_s=queue_s, run_s=run_s, round_trip_s=rng.choice((0.0, 0.03, 0.3, rng.uniform(0, 1))),
                          resumed_at=0.0 if i % 3 else rng.uniform(0, queue_s + run_s)))
    return tasks


def broken_by(check) -> list[str]:
    """The tasks of :func:`many_tasks` for which ``check(task, asked)`` names a fault, as readable lines."""
    faults = []
    for task in many_tasks():
        fault = check(task, simulate(**task))
        if fault:
            faults.append(f"{fault} ({', '.join(f'{k} {v:.2f}' for k, v in task.items())})")
    return faults


def test_a_finished_task_is_noticed_within_2_s():
    def late(task, asked):
        running = [t for t, state in asked if state != "QUEUED"]
        gaps = [b - a for a, b in zip(running, running[1:])]
        if gaps and max(gaps) > MAX_GAP_S + 1e-9:
            return f"a gap of {max(gaps):.3f} s while running"
        return ""

    faults = broken_by(late)
    assert not faults, f"{len(faults)} of {len(many_tasks())} tasks: " + "; ".join(faults[:5])


def test_never_more_than_30_queries_per_minute_of_task_time():
    def too_many(task, asked):
        allowance = 1.0 if task["resumed_at"] else 0.0  # a resumed wait starts with one saved query
        for count, (t, _) in enumerate(asked, 1):
            if count > allowance + t * 30 / 60 + 1e-9:  # at every moment, not only on average
                return f"query {count} at {t:.2f} s"
        return ""

    faults = broken_by(too_many)
    assert not faults, f"{len(faults)} of {len(many_tasks())} tasks: " + "; ".join(faults[:5])


def test_queries_fall_off_while_queued_down_to_the_official_5_s():
    asked = simulate(queue_s=60.0, run_s=20.0)
    queued = [t for t, state in asked if state == "QUEUED"]
    gaps = [b - a for a, b in zip(queued, queued[1:])]
    assert gaps == sorted(gaps) and gaps[0] < gaps[-1] == QUEUED_MAX_GAP_S


def test_a_task_queued_a_while_leaves_room_for_the_round_trip_for_minutes():
    """What the queue saved pays the round-trip margin: a task that queued a minute and then runs
    for minutes still gets every answer back before the 2 s are up."""
    asked = simulate(queue_s=60.0, run_s=300.0, round_trip_s=0.03)
    running = [t for t, state in asked if state != "QUEUED"]
    assert len(running) > 150
    assert all(b - a <= MAX_GAP_S - NOTICE_MARGIN_S + 1e-9 for a, b in zip(running, running[1:]))


def test_a_resumed_task_gets_no_burst_of_queries():
    asked = simulate(queue_s=3590.0, run_s=60.0, resumed_at=3600.0)
    assert [round(b - a, 6) for (a, _), (b, _) in zip(asked, asked[1:])][:3] == [MAX_GAP_S - NOTICE_MARGIN_S] * 3


@pytest.mark.parametrize("round_trip_s", (0.0, 0.03, 0.3))
def test_a_resumed_running_task_still_leaves_room_for_the_round_trip(round_trip_s):
    """Cancelled, queued again 13 s after the submit: its earlier wait saved queries it can no longer use."""
    asked = simulate(queue_s=4.0, run_s=15.0, resumed_at=13.0, round_trip_s=round_trip_s)
    gaps = [b - a for (a, _), (b, _) in zip(asked, asked[1:])]
    assert gaps and all(gap <= MAX_GAP_S - NOTICE_MARGIN_S + 1e-9 for gap in gaps)


# --- the estimate ----------------------------------------------------------------------------------
def test_estimate_follows_a_3x_change_in_run_time_within_a_few_tasks():
    history = [20.0] * 10
    errors = {}
    for after in (1, 3, 10):
        mid = est.learn(history + [60.0] * after, 60.0).mid
        errors[after] = abs(mid - 60.0) / 60.0
    assert errors[1] < 0.5 and errors[3] < 0.15 and errors[10] < 0.01


def test_estimate_is_a_range_until_tasks_agree_then_one_figure():
    assert not est.learn([], 60.0).sure and not est.learn([60.0], 60.0).sure
    assert est.learn([60.0, 61.0, 59.0, 60.0, 60.5, 60.0], 60.0).sure
    assert not est.learn([30.0, 90.0, 40.0, 80.0, 35.0, 85.0], 60.0).sure


class Row:
    def __init__(self, model: str, resolution: str, duration: str, queue_s: float, run_s: float) -> None:
        self.request = {"model": model, "resolution": resolution, "duration": duration}
        self.queue_s, self.run_s = queue_s, run_s


def test_estimate_is_per_model_resolution_and_duration_and_apart_for_queue_and_run():
    history = [Row("m1", "720p", "5", 100.0, 40.0), Row("m1", "480p", "5", 1.0, 20.0),
               Row("m2", "720p", "5", 5.0, 300.0), Row("m1", "720p", "10", 7.0, 90.0)]
    guess = est.estimate(history, "m1", "720p", "5")
    assert (round(guess.queue.mid), round(guess.run.mid)) == (100, 40)
    assert round(est.estimate(history, "m2", "720p", 5).run.mid) == 300
    assert est.estimate(history, "m3", "720p", "5").run.samples == 0


# --- the status line and the bar ---------------------------------------------------------------------
def ticks(estimate: TaskEstimate, run_s: float, queue_s: float = 5.0) -> list[ProgressEvent]:
    """One event per second of a task that queues ``queue_s`` and runs ``run_s`` (submitted at 0)."""
    events: list[ProgressEvent] = []
    progress = _Progress("42", estimate, events.append, submitted_at=0.0, price=None)
    progress.set_state("QUEUED", 0.0)
    for second in range(int(queue_s + run_s)):
        if second == queue_s:
            progress.set_state("RUNNING", float(second))
        progress.emit(float(second), force=True)
    return events


SURE = TaskEstimate(Estimate(5.0, 4.6, 5.4, 10), Estimate(20.0, 19.0, 21.5, 10))


def test_past_the_estimate_the_line_says_taking_longer_than_usual():
    events = ticks(SURE, run_s=70.0)
    assert describe(events[-1]) == "RUNNING · 1:14 elapsed · 0:05 in queue · taking longer than usual"
    lines = [describe(e) for e in events if e.state == "RUNNING"]
    late = [i for i, line in enumerate(lines) if "taking longer than usual" in line]
    assert late and all("left" not in line for line in lines[late[0]:])  # no countdown to a time it passed
    assert all("taking longer" not in line for line in lines[:21])


def test_an_unsure_estimate_is_shown_as_a_range():
    unsure = TaskEstimate(est.learn([], 20.0), est.learn([60.0], 60.0))
    running = [e for e in ticks(unsure, run_s=10.0) if e.state == "RUNNING"]
    assert re.search(r" · ~0:\d\d–\d:\d\d left$", describe(running[0]))
    assert running[0].extra["eta_range"][0] < running[0].eta_s < running[0].extra["eta_range"][1]


@pytest.mark.parametrize("run_s", [5.0, 20.0, 200.0])
def test_the_bar_moves_every_second_and_never_reaches_the_end_while_waiting(run_s):
    fractions = [e.fraction for e in ticks(SURE, run_s=run_s)]
    assert all(b > a for a, b in zip(fractions, fractions[1:]))  # never still, never back
    assert fractions[-1] < bar_position("download", 0) < 1.0


def test_a_resumed_task_keeps_its_queue_time():
    events: list[ProgressEvent] = []
    progress = _Progress("42", SURE, events.append, submitted_at=0.0, price=None, queued_s=12.0, running_since=12.0)
    progress.set_state("RUNNING", 100.0)
    progress.emit(100.0, force=True)
    assert describe(events[-1]) == "RUNNING · 1:40 elapsed · 0:12 in queue · taking longer than usual"


def test_a_task_cancelled_while_queued_and_resumed_running_shows_a_fair_queue_time_and_teaches_nothing(
        rh_env, tmp_path):
    """Its start was not seen (it began while nobody asked): the line guesses the middle of the
    unwatched time, not all of it, and the estimate does not learn a guess as a run time."""
    import threading
    import time

    from ..runninghub_video.core import errors
    from ..runninghub_video.ledger.journal import Journal

    rh_env.set_clock(queue_s=1.5, run_s=600.0)  # still running when queued again, however slow the machine
    cancel = threading.Event()
    request = VideoRequest("cancelled while queued", duration="2", resolution="480p")
    with pytest.raises(errors.Interrupted):
        generate([solid_images(1)], request, output_dir=tmp_path, should_cancel=cancel.is_set,
                 on_progress=lambda e: e.phase == "queued" and cancel.set())
    (task_id,) = rh_env.tasks

    def ran_unwatched_for_3_s() -> bool:
        start = rh_env.tasks[task_id].start  # it starts running at 1.5 s, while nobody asks
        return start is not None and time.monotonic() - start >= 3.0

    wait_until(ran_unwatched_for_3_s, what="the task to run 3 s unwatched")
    seen: list[ProgressEvent] = []  # the task ends once the resumed run has shown it running
    result = generate([solid_images(1)], request, output_dir=tmp_path, on_progress=ending_once_running(rh_env, seen))
    assert result.resumed and rh_env.counters.submits == 1
    running = [e for e in seen if e.state == "RUNNING"]
    assert running and all(e.queued_s < e.elapsed_s - 1.0 for e in running)  # not "all of it was queue"
    row = Journal().get(result.task_id)
    assert row.run_seconds is None and row.running_at is None


def test_no_line_says_paid_before_the_task_is_done(rh_env, tmp_path):
    """A run cancelled while running, then resumed by queuing again."""
    import threading

    from ..runninghub_video.core import errors

    rh_env.set_clock(queue_s=0.5, run_s=600.0)  # still running when Cancel is seen, however slow the machine
    cancel = threading.Event()
    seen: list[ProgressEvent] = []

    def cancel_once_running(event: ProgressEvent) -> None:
        seen.append(event)
        if event.state == "RUNNING":
            cancel.set()

    request = VideoRequest("paid?", duration="2", resolution="480p")
    with pytest.raises(errors.Interrupted):
        generate([solid_images(1)], request, output_dir=tmp_path, on_progress=cancel_once_running,
                 should_cancel=cancel.is_set)
    rh_env.end_tasks_now()
    result = generate([solid_images(1)], request, output_dir=tmp_path, on_progress=seen.append)
    assert result.resumed and not result.reused
    before_done = [describe(e) for e in seen if e.state != "SUCCESS" and e.phase not in ("download", "done")]
    assert any(m.startswith("resuming task") for m in before_done)
    assert not [m for m in before_done if "paid" in m]
