"""The Python control surface tests use to start, steer and inspect the emulator."""
from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
from typing import Any, Callable, Iterable

from ..remote import error_codes, facts
from .state import BROKEN_RESULTS, Counters, Seconds, State, Task


def _steered(name: str, check: Callable[[Any], Any]) -> property:
    """A setting of the running emulator: read from and written to its state (``check`` vets a new
    value), so a test can change it between requests."""
    return property(lambda self: getattr(self.state, name),
                    lambda self, value: setattr(self.state, name, check(value)))


def _over_limit(value: str) -> str:
    """What a submit over the concurrency limit gets: "queue" (it waits) or "reject" (421)."""
    if value not in ("queue", "reject"):
        raise ValueError("over_limit must be 'queue' or 'reject'")
    return value


STEERED = ("key_type", "concurrent_limit", "over_limit", "balance", "real_people", "asset_s")


class Emulator:
    """A local RunningHub on 127.0.0.1, started on construction, stopped by ``close()``/``__exit__``."""

    def __init__(self, api_key: str | None = None, queue_s: Seconds | None = None, run_s: Seconds | None = None, *,
                 currency: str = "CNY", port: int = 0, time_scale: float = 1.0, **steering: Any) -> None:
        """``queue_s``/``run_s``: task timing (seconds, or callables of the submit body); None = like
        the real service for each model (minutes for 2.0), multiplied by ``time_scale``. Tests pass
        short times. ``steering``: first values of the settings a test may change later
        (:data:`STEERED`: key_type "SHARED", concurrent_limit 3, over_limit "queue", balance 100,
        real_people False, asset_s)."""
        from .server import Server

        unknown = set(steering) - set(STEERED)
        if unknown:
            raise TypeError(f"Emulator got unknown setting(s) {sorted(unknown)}; use {STEERED}")
        alphabet = string.ascii_letters + string.digits
        self.api_key = api_key or "".join(secrets.choice(alphabet) for _ in range(facts.KEY_LENGTH))
        self.key_type = "SHARED"
        self.currency = currency
        self.state = State(queue_s=queue_s, run_s=run_s, concurrent_limit=3, over_limit="queue", balance=100.0,
                           time_scale=time_scale, currency=currency)
        for name, value in steering.items():
            if value is not None:
                setattr(self, name, value)
        self._stop = threading.Event()
        self._woken = threading.Condition()  # handlers sleeping in a fault; see answer_now
        self._wakes = 0
        self._server = Server(("127.0.0.1", port), self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="runninghub-emulator", daemon=True)
        self._thread.start()

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self.answer_now()  # wakes handlers sleeping in delay / timeout faults
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        """A handler's pause (delay and timeout faults): ``seconds``, or until :meth:`answer_now` or close."""
        deadline = time.monotonic() + max(0.0, seconds)
        with self._woken:
            wakes = self._wakes
            while not self._stop.is_set() and self._wakes == wakes and time.monotonic() < deadline:
                self._woken.wait(deadline - time.monotonic())

    def answer_now(self) -> None:
        """Requests held by a delay or timeout fault go on at once: a test holds an answer with a long
        delay until the client was seen waiting for it, however slow the machine."""
        with self._woken:
            self._wakes += 1
            self._woken.notify_all()

    # --- inspection ----------------------------------------------------------------------
    @property
    def counters(self) -> Counters:
        self.state.advance()  # so money_charged includes tasks that finished since the last request
        return self.state.counters

    @property
    def tasks(self) -> dict[str, Task]:
        self.state.advance()
        return self.state.tasks

    @property
    def uploads(self) -> dict[str, bytes]:
        return self.state.uploads

    @property
    def balance(self) -> float:
        self.state.advance()
        return self.state.balance

    @balance.setter
    def balance(self, value: float) -> None:
        self.state.balance = float(value)

    concurrent_limit = _steered("concurrent_limit", int)
    over_limit = _steered("over_limit", _over_limit)
    asset_s = _steered("asset_s", float)  # how long a conversion stays PROCESSING

    @property
    def real_people(self) -> bool | set[str]:
        return self.state.real_people

    @real_people.setter
    def real_people(self, value: bool | Iterable[bytes]) -> None:
        """True: every image and video reference shows a real person; or the files (bytes) that do.
        Such a reference sent as a URL makes the task fail 1505 once it runs (accepted, then failed);
        sent as an ACTIVE asset it is taken."""
        if isinstance(value, bool):
            self.state.real_people = value
        else:
            self.state.real_people = {hashlib.sha256(data).hexdigest() for data in value}

    @property
    def assets(self) -> dict[str, Any]:
        return self.state.assets

    def fail_next_conversions(self, reason: str = "no face could be verified | 无法识别人脸", count: int = 1) -> None:
        """The next ``count`` created assets end FAILED with ``reason``."""
        with self.state.lock:
            self.state.asset_failures.extend([reason] * count)

    # --- steering ------------------------------------------------------------------------
    def inject(self, endpoint: str, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next ``count`` requests to ``endpoint`` misbehave (see the package docstring)."""
        self.state.add_fault(endpoint, kind, count, params)

    def fail_next_tasks(self, code: str = "1501", message: str | None = None, at: str = "running",
                        count: int = 1) -> None:
        """The next ``count`` created tasks end FAILED with ``code`` (never charged)."""
        if at not in ("running", "submit"):
            raise ValueError("at must be 'running' or 'submit'")
        info = error_codes.CODES.get(str(code))
        message = message or f"{info.meaning if info else 'task failed'} | 任务失败"
        with self.state.lock:
            self.state.pending_failures.append({"code": str(code), "message": message, "at": at, "count": count})

    def break_results(self, shape: str, count: int = 1) -> None:
        """The next ``count`` SUCCESS answers (of any task, charged as usual) carry no usable video URL:
        ``results`` empty, only a PNG, not a list, or a list of URL strings (state.BROKEN_RESULTS)."""
        if shape not in BROKEN_RESULTS:
            raise ValueError(f"shape must be one of {BROKEN_RESULTS}")
        with self.state.lock:
            self.state.broken_results.extend([shape] * count)

    def cancel_task(self, task_id: str) -> None:
        """The task is cancelled on the site (a person pressed cancel): CANCEL from now on, never charged."""
        with self.state.lock:
            self.state.tasks[task_id].cancelled_at = time.monotonic()

    def end_tasks_now(self) -> None:
        """Every task made so far ends at once (a queued one too; one that ended keeps its end): a test
        holds a state with a long clock until the client was seen in it, then lets the run finish."""
        with self.state.lock:
            now = time.monotonic()
            for task in self.state.tasks.values():
                if task.start is None:
                    task.queue_s, task.run_s = min(task.queue_s, max(0.0, now - task.created)), 0.0
                else:
                    task.run_s = min(task.run_s, max(0.0, now - task.start))
            self.state.advance(now)

    def failed_reason_as_text(self, as_text: bool = True) -> None:
        """``failedReason`` as the schema types it (a string) instead of the object some answers carry."""
        with self.state.lock:
            self.state.failed_reason_text = as_text

    def expire_results(self) -> None:
        """Every existing task is forgotten: query → 1004, result GET → 404."""
        with self.state.lock:
            for task in self.state.tasks.values():
                task.expired = True

    def expire_uploads(self, seen_at: str = "submit") -> None:
        """Upload URLs issued so far lapse (new uploads are fresh): file GET → 404, and errorCode 1013
        either at the submit (``seen_at="submit"``) or as a FAILED task once it runs (``"task"``,
        as when RunningHub fetches references after accepting the task)."""
        if seen_at not in ("submit", "task"):
            raise ValueError("seen_at must be 'submit' or 'task'")
        with self.state.lock:
            self.state.expired_paths.update(self.state.upload_paths)
            self.state.expiry_seen_at = seen_at

    def charge_in(self, usage_field: str) -> None:
        """Report the charge in ``consumeMoney`` (default) or ``thirdPartyConsumeMoney``, the other null."""
        if usage_field not in ("consumeMoney", "thirdPartyConsumeMoney"):
            raise ValueError("usage_field must be consumeMoney or thirdPartyConsumeMoney")
        with self.state.lock:
            self.state.charge_field = usage_field

    def report_charge_as(self, text: str | None) -> None:
        """Tasks report ``text`` as their charge ("1E+30", "NaN", "-0.75", garbage) instead of their
        price; the balance still pays the price. None: back to the price."""
        with self.state.lock:
            self.state.charge_text = text

    def report_cost_time_as(self, seconds: float | None) -> None:
        """Finished tasks report ``taskCostTime`` as ``seconds`` (a task that took that long, so was made
        at least that long ago) instead of their own span. None: back to their span."""
        with self.state.lock:
            self.state.cost_time_s = seconds

    def set_clock(self, queue_s: Seconds | None = None, run_s: Seconds | None = None,
                  create_s: float | None = None) -> None:
        """Timing of tasks created from now on (floats, or callables taking the submit body);
        ``create_s``: how long they read CREATE (state.CREATE_S; at most half the queue time)."""
        with self.state.lock:
            if queue_s is not None:
                self.state.queue_s = queue_s
            if run_s is not None:
                self.state.run_s = run_s
            if create_s is not None:
                self.state.create_s = float(create_s)

    def skip(self, seconds: float) -> None:
        """Every task made so far is ``seconds`` further along its timeline: a test holds a state with
        a long clock, then moves on without waiting, however slow the machine."""
        with self.state.lock:
            for task in self.state.tasks.values():
                task.created -= seconds
                if task.start is not None:
                    task.start -= seconds
                if task.cancelled_at is not None:
                    task.cancelled_at -= seconds
            self.state.advance()


def serve(port: int = 8765, **kw: Any) -> None:
    """Run an emulator in the foreground until Ctrl-C (``python -m runninghub_video emulator``)."""
    with Emulator(port=port, **kw) as emu:
        print(f"RunningHub emulator at {emu.base_url}")
        if emu.real_people:
            print("every image and video reference shows a real person (1505 unless sent as an asset)")
        print(f"API key (fake): {emu.api_key}")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
