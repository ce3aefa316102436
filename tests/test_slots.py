"""The concurrency limiter: never more tasks than the account allows, and waiting is cancellable."""
from __future__ import annotations

import threading
import time
from typing import Callable

import pytest

from ..runninghub_video.run import slots
from ..runninghub_video.core.errors import Interrupted
from ..runninghub_video.run.slots import SlotLimiter, limiter_for

from conftest import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _ticks() -> tuple[list[int], Callable[[], bool]]:
    """A cancel check that never cancels and counts its calls: a waiting run looks at Cancel once per
    wait tick, so the count says how many ticks it has waited (no fixed sleep)."""
    seen: list[int] = []
    return seen, lambda: bool(seen.append(1))


def _run_in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_never_more_runs_inside_than_the_account_limit():
    limiter = SlotLimiter(lambda: 2)
    inside, peak, lock, release, waiting = 0, 0, threading.Lock(), threading.Event(), []

    def run() -> None:
        nonlocal inside, peak
        with limiter.acquire(on_wait=lambda: waiting.append(1)):
            with lock:
                inside += 1
                peak = max(peak, inside)
            release.wait(10)  # the first two stay inside until the other six wait
            with lock:
                inside -= 1

    threads = [_run_in_thread(run) for _ in range(8)]
    wait_until(lambda: inside == 2 and len(waiting) == 6, what="two runs inside, six waiting")
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert peak == 2 and limiter.in_use == 0


def test_waiting_run_is_told_once_and_starts_when_a_slot_frees():
    limiter = SlotLimiter(lambda: 1)
    told, entered = [], threading.Event()
    release = threading.Event()

    def holder() -> None:
        with limiter.acquire():
            release.wait(5)

    ticks, counting = _ticks()

    def waiter() -> None:
        with limiter.acquire(should_cancel=counting, on_wait=lambda: told.append(1)):
            entered.set()

    first = _run_in_thread(holder)
    wait_until(lambda: limiter.in_use == 1)
    second = _run_in_thread(waiter)
    wait_until(lambda: len(ticks) >= 4, what="several wait ticks")
    assert not entered.is_set() and told == [1]
    release.set()
    assert entered.wait(2)
    first.join(2), second.join(2)
    assert told == [1]


def test_a_task_already_running_is_counted_at_once_and_new_runs_wait_for_it():
    limiter = SlotLimiter(lambda: 1)
    entered, release = threading.Event(), threading.Event()

    def resumed() -> None:
        with limiter.occupy():  # never waits, even with every slot taken
            release.wait(5)

    ticks, counting = _ticks()

    def new_run() -> None:
        with limiter.acquire(should_cancel=counting):
            entered.set()

    with limiter.acquire():
        first = _run_in_thread(resumed)
        wait_until(lambda: limiter.in_use == 2)
    second = _run_in_thread(new_run)
    wait_until(lambda: len(ticks) >= 4, what="several wait ticks")
    assert not entered.is_set() and limiter.in_use == 1
    release.set()
    assert entered.wait(2)
    first.join(2), second.join(2)
    assert limiter.in_use == 0


def test_no_wait_message_when_a_slot_is_free():
    told = []
    with SlotLimiter(lambda: 1).acquire(on_wait=lambda: told.append(1)):
        pass
    assert told == []


def test_cancel_stops_waiting_for_a_slot_within_one_second():
    limiter = SlotLimiter(lambda: 1)
    cancel = threading.Event()
    outcome: list[BaseException] = []

    ticks, counting = _ticks()

    def waiter() -> None:
        try:
            with limiter.acquire(should_cancel=lambda: counting() or cancel.is_set()):
                pass
        except BaseException as exc:
            outcome.append(exc)

    with limiter.acquire():
        thread = _run_in_thread(waiter)
        wait_until(lambda: len(ticks) >= 2, what="the run to wait for a slot")
        started = time.monotonic()
        cancel.set()
        thread.join(timeout=1.0)
        assert not thread.is_alive() and time.monotonic() - started < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted)
    assert limiter.in_use == 0


def test_slot_is_freed_when_the_run_fails():
    limiter = SlotLimiter(lambda: 1)
    with pytest.raises(RuntimeError):
        with limiter.acquire():
            raise RuntimeError("task failed")
    assert limiter.in_use == 0
    with limiter.acquire():
        assert limiter.in_use == 1


def test_limit_is_fetched_lazily_cached_and_refreshed_after_expiry():
    clock, answers, calls = FakeClock(), iter([2, 5]), []

    def fetch() -> int:
        calls.append(clock.now)
        return next(answers)

    limiter = SlotLimiter(fetch, cache_s=30.0, clock=clock)
    assert calls == []  # nothing fetched until a run needs a slot
    assert limiter.limit() == 2
    clock.now = 29.0
    assert limiter.limit() == 2 and calls == [0.0]
    clock.now = 31.0
    assert limiter.limit() == 5 and calls == [0.0, 31.0]


def test_raised_limit_lets_a_waiting_run_in():
    clock, limit = FakeClock(), [1]
    limiter = SlotLimiter(lambda: limit[0], cache_s=30.0, clock=clock)
    entered = threading.Event()

    def waiter() -> None:
        with limiter.acquire():
            entered.set()

    with limiter.acquire():
        thread = _run_in_thread(waiter)
        assert not entered.wait(0.4)
        limit[0], clock.now = 2, 60.0  # the user upgraded the plan; the cache expires
        assert entered.wait(2)
        thread.join(2)


def test_failing_limit_fetch_falls_back_to_last_known_or_one():
    clock, answers = FakeClock(), iter([RuntimeError("offline"), 3, OSError("timeout")])

    def fetch() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    limiter = SlotLimiter(fetch, cache_s=10.0, clock=clock)
    assert limiter.limit() == 1
    clock.now = 11.0
    assert limiter.limit() == 3
    clock.now = 22.0
    assert limiter.limit() == 3


def test_nonsense_limit_is_ignored():
    limiter = SlotLimiter(lambda: 0)
    assert limiter.limit() == 1


def test_one_shared_limiter_per_site(monkeypatch):
    monkeypatch.setattr(slots, "_limiters", {})
    cn = limiter_for("cn", lambda: 2)
    assert limiter_for("cn", lambda: 7) is cn and cn.limit() == 7  # newest fetch function wins
    assert limiter_for("ai", lambda: 2) is not cn
