"""The emulator's memory: tasks and their timeline, uploads, counters, injected faults.

Task states are computed lazily from the clock: a task waits ``queue_s`` (QUEUED), then for a
free slot (at most ``concurrent_limit`` RUNNING at once), runs ``run_s`` (RUNNING) and ends
SUCCESS or FAILED. Money is charged once, when a task is first seen to succeed.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, fields
from typing import Any, Callable

from ..remote import facts, models
from ..remote.price_rules import Tokens

Seconds = float | Callable[[dict], float]

CREATE_S = 0.1  # how long a new task reads CREATE before QUEUED, unless set_clock says (at most half its queue time)
ENDPOINTS = ("upload", "submit", "query", "download", "last_frame", "file", "queue_status", "account_status",
             "price_preview", "asset_create", "asset_query", "asset_list", "asset_delete")
# Submit answers that prove nothing, sent after the task was made (fault answer_after_create).
BROKEN_SUBMIT_ANSWERS = ("not_json", "empty", "list", "code_500", "html", "error_1000", "task_id_path",
                         "task_id_long", "task_id_number")
# SUCCESS answers without a usable video URL (control.break_results).
BROKEN_RESULTS = ("empty", "png_only", "not_list", "strings")
FAULT_KINDS = ("http_error", "reset", "error_code", "delay", "slow", "truncate", "timeout_after_create",
               "echo_key", "redirect", "answer_after_create", "not_found_at_first")


@dataclass
class Counters:
    submits: int = 0
    submits_accepted: int = 0
    queries: int = 0
    uploads: int = 0
    upload_bytes: int = 0
    downloads: int = 0
    download_bytes: int = 0
    file_gets: int = 0
    queue_status_calls: int = 0
    account_status_calls: int = 0
    price_previews: int = 0
    assets_created: int = 0
    asset_queries: int = 0
    asset_lists: int = 0
    assets_deleted: int = 0
    money_charged: float = 0.0
    requests_total: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Fault:
    kind: str
    count: int
    params: dict


@dataclass
class Asset:
    """A reference converted for real-person handling: PROCESSING for ``processing_s``, then ACTIVE
    (or FAILED with ``fail_reason``). Costs nothing here; whether the real API charges is unknown [U]."""
    asset_id: str
    asset_type: str
    name: str
    url: str
    data: bytes
    created: float
    processing_s: float
    fail_reason: str = ""

    def status_at(self, now: float) -> str:
        if now < self.created + self.processing_s:
            return "PROCESSING"
        return "FAILED" if self.fail_reason else "ACTIVE"


@dataclass
class Task:
    task_id: str
    body: dict
    created: float
    queue_s: float
    run_s: float
    references: dict[str, list[bytes]]
    price: float
    model: models.Model = models.V1_LITE
    mode: str = models.REFERENCE  # which of the model's endpoints made it
    fail_code: str = ""
    fail_message: str = ""
    fail_at: str = ""  # "", "submit" or "running"
    create_s: float = CREATE_S  # how long it reads CREATE (at most half its queue time)
    start: float | None = None  # when it got a running slot
    charged: bool = False
    expired: bool = False
    cancelled_at: float | None = None  # cancelled on the site: CANCEL from then on, never charged
    video: Any = None  # Future of the MP4 bytes
    # fault not_found_at_first: a new task RunningHub cannot find yet [U] answers queries as an unknown
    # task (1004) for its first ``unseen_queries`` queries and its first ``unseen_s`` seconds
    unseen_queries: int = 0
    unseen_s: float = 0.0
    not_found_answers: int = 0  # queries answered 1004 while it was unseen

    @property
    def last_frame(self) -> bool:
        return bool(self.model.last_frame_wire and self.body.get(self.model.last_frame_wire) is True)

    @property
    def ready(self) -> float:
        return self.created + self.queue_s

    @property
    def end(self) -> float | None:
        return None if self.start is None else self.start + self.run_s

    def state_at(self, now: float) -> str:
        if self.fail_at == "submit":
            return "FAILED"
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "CANCEL"
        if now < self.created + min(self.create_s, self.queue_s / 2):
            return "CREATE"  # accepted, not yet queued (official clients treat it as pending) [C]
        if self.start is None or now < self.start:
            return "QUEUED"
        if now < self.start + self.run_s:
            return "RUNNING"
        return "FAILED" if self.fail_code else facts.SUCCESS_STATE

    @property
    def state(self) -> str:
        return self.state_at(time.monotonic())


# .ai publishes no price table [U], so an emulator in USD invents one: the .cn table at this rate.
# A figure of its own (not the CNY number relabelled) lets tests tell a USD charge from a CNY one;
# the client never knows it and shows .ai prices only from RunningHub's own answers.
EMULATED_USD_PER_CNY = 0.14
AUTO_SECONDS = 5  # the length the emulated model chooses when asked to ("-1")


def played_seconds(body: dict) -> int:
    """The length of the video a task makes: its duration, or the emulator's choice for "-1"."""
    seconds = int(body.get("duration") or 5)
    return AUTO_SECONDS if seconds <= 0 else seconds


def price_for(body: dict, model: models.Model = models.V1_LITE, currency: str = "CNY",
              mode: str = models.REFERENCE) -> float:
    """What the emulator charges for one task, in its currency: the model's published rule for the
    length it makes, with sound (1.5 Pro doubles) and reference videos (the 2.0 family's rule) as
    sent. A price in tokens counts the output's, and as many again when reference videos are sent."""
    sound = str(body.get("generateAudio")).lower() == "true"
    videos = len(body.get("videoUrls") or []) if mode == models.REFERENCE else 0
    low, high = model.price_range("cn", body["resolution"], played_seconds(body), sound=sound, videos=videos,
                                  mode=mode)
    cny = float(high if isinstance(model.price, Tokens) and videos else low)
    return round(cny * EMULATED_USD_PER_CNY if currency == "USD" else cny, 2)


def preview_price(body: dict, model: models.Model, currency: str, mode: str) -> float | None:
    """The price preview's answer: the charge, except for a length the model chooses (unknown until
    the task ends: no number)."""
    return None if str(body.get("duration")) == "-1" else price_for(body, model, currency, mode)


def realistic_run_s(body: dict, model: models.Model) -> float:
    """RUNNING time like the real service's: the model's typical 720p x 5 s time, scaled."""
    scale = {"480p": 0.6, "720p": 1.0}.get(body.get("resolution"), 1.5)
    return model.typical_run_s * scale * played_seconds(body) / 5


def realistic_queue_s(body: dict, model: models.Model) -> float:
    """QUEUED time before a slot: our guess of a tenth of the run [U] (queueing can double it)."""
    return 0.1 * model.typical_run_s


def new_task_id() -> str:
    """19 digits, like RunningHub's (which start with 20…)."""
    return str(2 * 10**18 + secrets.randbelow(10**18))


class State:
    """All mutable emulator data, guarded by one lock."""

    def __init__(self, *, queue_s: Seconds | None, run_s: Seconds | None, concurrent_limit: int, over_limit: str,
                 balance: float, time_scale: float = 1.0, currency: str = "CNY") -> None:
        self.lock = threading.RLock()
        self.currency = currency
        self.counters = Counters()
        self.tasks: dict[str, Task] = {}
        self.uploads: dict[str, bytes] = {}  # issued url -> bytes
        self.upload_paths: dict[str, str] = {}  # url path -> issued url
        self.expired_paths: set[str] = set()  # upload paths whose URL has lapsed
        self.expiry_seen_at = "submit"  # or "task": RunningHub reads references after the submit
        self.charge_field = "consumeMoney"  # or "thirdPartyConsumeMoney" (the API may use either)
        self.charge_text: str | None = None  # what ``usage`` reports instead of the price, when set
        self.cost_time_s: float | None = None  # what ``taskCostTime`` reports instead of the task's span, when set
        self.broken_results: list[str] = []  # shapes of the next SUCCESS answers' results (control.break_results)
        self.failed_reason_text = False  # failedReason as a string (the schema) rather than an object
        self.faults: dict[str, list[Fault]] = {e: [] for e in ENDPOINTS}
        self.pending_failures: list[dict] = []
        self.queue_s, self.run_s = queue_s, run_s
        self.create_s = CREATE_S
        self.time_scale = time_scale
        self.concurrent_limit = concurrent_limit
        self.over_limit = over_limit
        self.balance = balance
        self.assets: dict[str, Asset] = {}
        self.asset_s = 5.0 * time_scale  # how long a conversion takes: unknown on the real site [U]
        self.asset_failures: list[str] = []  # reasons the next conversions fail with
        self.real_people: bool | set[str] = False  # True: every image/video shows one; or sha256s of such files

    # --- faults --------------------------------------------------------------------------
    def add_fault(self, endpoint: str, kind: str, count: int, params: dict) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use one of {ENDPOINTS}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if kind == "timeout_after_create" and endpoint not in ("submit", "asset_create"):
            raise ValueError("timeout_after_create only applies to submit and asset_create")
        if kind == "answer_after_create" and endpoint != "submit":
            raise ValueError("answer_after_create only applies to submit")
        if kind == "answer_after_create" and params.get("answer") not in BROKEN_SUBMIT_ANSWERS:
            raise ValueError(f"answer must be one of {BROKEN_SUBMIT_ANSWERS}")
        if kind == "not_found_at_first" and (endpoint != "submit" or not (params.get("queries") or params.get("seconds"))):
            raise ValueError("not_found_at_first applies to submit, with queries=N and/or seconds=S")
        with self.lock:
            self.faults[endpoint].append(Fault(kind, count, dict(params)))

    def unseen(self, task: Task, now: float) -> bool:
        """Whether this query of ``task`` gets the unknown task's answer (fault not_found_at_first); counts it."""
        with self.lock:
            if task.unseen_queries <= 0 and now >= task.created + task.unseen_s:
                return False
            task.unseen_queries = max(0, task.unseen_queries - 1)
            task.not_found_answers += 1
            return True

    def take_broken_results(self) -> str:
        """The shape of this SUCCESS answer's broken ``results`` ("" for a good answer)."""
        with self.lock:
            return self.broken_results.pop(0) if self.broken_results else ""

    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            queue = self.faults[endpoint]
            if not queue:
                return None
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.pop(0)
            return fault

    # --- clock and scheduling ------------------------------------------------------------
    def seconds(self, setting: Seconds | None, body: dict, model: models.Model, realistic: Callable) -> float:
        """A configured time (a number, or a callable of the body), else the realistic one x time_scale."""
        if setting is None:
            return realistic(body, model) * self.time_scale
        return float(setting(body) if callable(setting) else setting)

    def advance(self, now: float | None = None) -> None:
        """Give free running slots to ready tasks in time order, and charge finished ones."""
        now = time.monotonic() if now is None else now
        with self.lock:
            live = [t for t in self.tasks.values() if t.fail_at != "submit"]
            while True:
                waiting = [t for t in live if t.start is None and t.ready <= now]
                if not waiting:
                    break
                best, best_start = None, None
                for task in waiting:
                    start = self._first_free_slot(live, task.ready)
                    if best_start is None or (start, task.ready) < (best_start, best.ready):
                        best, best_start = task, start
                if best_start > now:
                    break
                best.start = best_start
            for task in live:
                if not task.charged and not task.expired and task.state_at(now) == facts.SUCCESS_STATE:
                    task.charged = True
                    self.counters.money_charged = round(self.counters.money_charged + task.price, 6)
                    self.balance = round(self.balance - task.price, 6)

    def _first_free_slot(self, live: list[Task], ready: float) -> float:
        spans = [(t.start, t.end) for t in live if t.start is not None]
        for moment in sorted({ready, *(end for _, end in spans if end >= ready)}):
            if sum(1 for s, e in spans if s <= moment < e) < self.concurrent_limit:
                return moment
        return ready  # unreachable: after the last end every slot is free

    def counts(self) -> tuple[int, int]:
        """(running, queued) right now."""
        now = time.monotonic()
        with self.lock:
            self.advance(now)
            states = [t.state_at(now) for t in self.tasks.values() if not t.expired]
        return states.count("RUNNING"), states.count("QUEUED") + states.count("CREATE")

    # --- tasks ---------------------------------------------------------------------------
    def create_task(self, body: dict, references: dict[str, list[bytes]], failure: dict | None = None,
                    model: models.Model = models.V1_LITE, mode: str = models.REFERENCE) -> Task:
        """A new task; ``failure`` (code, message, at) forces it to fail, else queued failures apply."""
        with self.lock:
            task_id = new_task_id()
            while task_id in self.tasks:
                task_id = new_task_id()
            task = Task(task_id=task_id, body=body, created=time.monotonic(),
                        queue_s=self.seconds(self.queue_s, body, model, realistic_queue_s),
                        run_s=self.seconds(self.run_s, body, model, realistic_run_s),
                        references=references, price=price_for(body, model, self.currency, mode), model=model,
                        mode=mode, create_s=self.create_s)
            if failure is not None:
                task.fail_code, task.fail_message, task.fail_at = (
                    failure["code"], failure["message"], failure["at"])
            elif self.pending_failures:
                failure = self.pending_failures[0]
                failure["count"] -= 1
                if failure["count"] <= 0:
                    self.pending_failures.pop(0)
                task.fail_code, task.fail_message, task.fail_at = (
                    failure["code"], failure["message"], failure["at"])
            self.tasks[task_id] = task
            self.counters.submits_accepted += 1
            self.advance()
            return task

    def shows_real_person(self, data: bytes) -> bool:
        import hashlib

        if self.real_people is True:
            return bool(data)
        return bool(self.real_people) and hashlib.sha256(data).hexdigest() in self.real_people

    def create_asset(self, asset_type: str, name: str, url: str, data: bytes) -> Asset:
        with self.lock:
            asset_id = str(10**18 + secrets.randbelow(9 * 10**18))
            reason = self.asset_failures.pop(0) if self.asset_failures else ""
            asset = Asset(asset_id, asset_type, name, url, data, time.monotonic(), self.asset_s, reason)
            self.assets[asset_id] = asset
            self.counters.assets_created += 1
            return asset

    def active_asset(self, asset_id: str) -> Asset | None:
        with self.lock:
            asset = self.assets.get(asset_id)
            return asset if asset is not None and asset.status_at(time.monotonic()) == "ACTIVE" else None

    def add_upload(self, url: str, path: str, data: bytes) -> None:
        with self.lock:
            self.expired_paths.discard(path)  # a new upload of the same content is fresh again
            self.uploads[url] = data
            self.upload_paths[path] = url

    def upload_for(self, path: str) -> bytes | None:
        with self.lock:
            if path in self.expired_paths:
                return None
            url = self.upload_paths.get(path)
            return None if url is None else self.uploads.get(url)
