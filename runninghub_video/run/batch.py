"""A batch: many ``generate`` runs at the account's concurrency, within a budget, resumable.

Each item (a line of a batch file, one of its variations) is one :func:`pipeline.generate` call,
so the journal's rules hold per item: the same batch again reuses saved videos, resumes submitted
tasks, refuses ambiguous ones with their explanation, and pays only for what never started; a
kill at any moment never pays an item twice. Items run in a pool no larger than the account's
``concurrentLimit`` (``queue/status``) or the caller's lower ``concurrency``; the pipeline's slot
limiter holds the same line across the process. A failed item never stops the others.

The budget counts what the batch's journal rows were charged plus, for tasks not charged yet,
their price; an item is admitted (just before its first upload) only while that sum plus its own
price stays within the budget. Once one is refused, no new item starts: the rest are "not started".
The daily budget (``spend.check_budget``) still applies to every item.
"""
from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core import money
from ..core.errors import AmbiguousSubmitError, Interrupted, RunningHubError
from ..core.events import ProgressEvent
from ..core.money import Money, format_money
from ..core.waits import current as current_waits
from ..ledger.journal import ABANDONED, AMBIGUOUS, REJECTED, Journal, Row
from ..remote import facts
from ..remote.config import Settings, load_settings
from . import spend
from .batch_file import BatchPlan, Item

SAVED, FAILED, NOT_STARTED = "saved", "failed", "not started"  # and AMBIGUOUS, as the journal says it
SUBMIT_DRAIN_S = 60.0  # after Ctrl-C: how long to wait for submits in flight to answer (their ids get recorded)
_NO_CHARGE = facts.TERMINAL_FAILURE_STATES | {REJECTED, ABANDONED}


@dataclass
class Outcome:
    """Where one item stands, and at the end what became of it (the report's item)."""
    item: Item
    state: str = "waiting"  # waiting → starting/queued/running/downloading → saved | failed | ambiguous | not started
    task_id: str = ""
    video_path: Path | None = None
    cost: Money | None = None
    charged: bool | None = False  # None: unknown (a task still running, an ambiguous submit)
    error: str = ""
    eta_s: float | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in (SAVED, FAILED, AMBIGUOUS, NOT_STARTED)

    def as_json(self) -> dict:
        return {"line": self.item.line, "variation": self.item.variation,
                "state": self.state if self.finished else NOT_STARTED, "task_id": self.task_id or None,
                "video_path": str(self.video_path) if self.video_path else None,
                "cost": None if self.cost is None else self.cost.number(),
                "currency": self.cost.currency if self.cost else None, "charged": self.charged,
                "error": self.error or None}


@dataclass
class BatchReport:
    plan: BatchPlan
    outcomes: list[Outcome]
    currency: str
    budget: Money | None = None
    workers: int = 0
    started: float = field(default_factory=time.monotonic)
    contact_sheet: Path | None = None
    interrupted: bool = False

    @property
    def all_saved(self) -> bool:
        return not self.plan.bad and all(o.state == SAVED for o in self.outcomes)

    def count(self, *states: str) -> int:
        return sum(1 for o in self.outcomes if o.state in states)

    def spent(self) -> Money:
        """What RunningHub charged for this batch's items (a task shared by identical items once)."""
        charges = {o.task_id: o.cost for o in self.outcomes if o.task_id and o.charged}
        return money.total(charges.values(), self.currency)

    def eta_s(self) -> float | None:
        """Rough time left. Once items of this batch have been saved, their mean time paces the rest
        (what the running ones still need, then rounds of ``workers`` for the waiting); before that,
        the longest estimate of a running item."""
        now = time.monotonic()
        done = [o.ended - o.started for o in self.outcomes if o.state == SAVED and o.started and o.ended]
        running = [o for o in self.outcomes if o.started and not o.finished]
        if not done:
            return max((o.eta_s for o in running if o.eta_s is not None), default=None)
        typical = sum(done) / len(done)
        rounds = -(-self.count("waiting") // max(1, self.workers))
        return max((max(0.0, typical - (now - o.started)) for o in running), default=0.0) + rounds * typical

    def as_json(self) -> dict:
        items = [o.as_json() for o in self.outcomes]
        items += [{"line": b.line, "variation": None, "state": FAILED, "task_id": None, "video_path": None,
                   "cost": None, "currency": None, "charged": False, "error": f"line {b.line} is not valid: {b.error}"}
                  for b in self.plan.bad]
        items.sort(key=lambda i: (i["line"], i["variation"] or 0))
        totals = {"lines": self.plan.lines, "items": len(items), "saved": self.count(SAVED),
                  "failed": self.count(FAILED) + len(self.plan.bad), "ambiguous": self.count(AMBIGUOUS),
                  "not_started": self.count(NOT_STARTED, "waiting"), "spent": self.spent().number(),
                  "currency": self.currency, "budget": None if self.budget is None else self.budget.number(),
                  "elapsed_s": round(time.monotonic() - self.started, 1),
                  "contact_sheet": str(self.contact_sheet) if self.contact_sheet else None}
        return {"file": str(self.plan.path), "items": items, "totals": totals}


def charged(row: Row | None) -> bool | None:
    """Whether RunningHub charged for a failed task, as its journal row says: None while unknown
    (no row, still running, finished without a reported charge)."""
    if row is None:
        return None
    return True if row.cost else False if row.state in _NO_CHARGE else None


class NotAdmitted(RunningHubError):
    """The batch's budget (or an earlier refusal) keeps this item from starting; nothing was uploaded."""

    code = "batch_budget"


class _Budget:
    """The batch's spend as its journal rows say it, and the admission of new items against the cap."""

    def __init__(self, cap: Money | None, rows: list[Row], price_of: Callable[[Row], Money | None]) -> None:
        self.cap = cap
        self._price_of = price_of
        self._lock = threading.Lock()
        self._entries = {row.id: self._charge(row) for row in rows}  # row id → charged, or price while unknown

    def admit(self, row_id: int, price: Money | None) -> None:
        if self.cap is None:
            return
        with self._lock:
            spent = money.total(self._entries.values(), self.cap.currency)
            if price is None:
                raise NotAdmitted("its price is unknown (no price preview, no published price), so it cannot be "
                                  f"checked against the batch budget of {format_money(self.cap)}.")
            if price.currency != self.cap.currency:
                raise NotAdmitted(f"its price is in {price.currency} (another site) and the batch budget in "
                                  f"{self.cap.currency}; run each site's lines as their own batch.")
            if (spent + price).amount > self.cap.amount:
                raise NotAdmitted(f"the batch budget of {format_money(self.cap)} would be passed: "
                                  f"{format_money(spent)} charged or running + {format_money(price)} for this one.")
            self._entries[row_id] = price

    def settle(self, row: Row | None) -> None:
        """An item ended: its row now counts what it was charged (or its price while that is unknown)."""
        if row is not None and self.cap is not None:
            with self._lock:
                self._entries[row.id] = self._charge(row)

    def _charge(self, row: Row) -> Money | None:
        if row.cost is not None:
            return row.cost
        if row.state in _NO_CHARGE or (not row.task_id and row.state != AMBIGUOUS):
            return None
        return self._price_of(row)  # running, or finished without a reported charge: assume its price


class BatchRun:
    """Runs a plan's items; ``on_change(report)`` is called (from worker threads) whenever an item moves."""

    def __init__(self, plan: BatchPlan, *, site: str | None = None, concurrency: int | None = None,
                 budget: str | float | None = None, on_change: Callable[[BatchReport], None] | None = None) -> None:
        self.plan = plan
        self.default_settings = load_settings(site)
        self._settings = {self.default_settings.site: self.default_settings}
        self.concurrency = concurrency
        self.on_change = on_change
        self._cancel = threading.Event()
        self._stop_reason = ""
        self._lock = threading.Lock()
        self._shown_at = 0.0
        self._prices: dict[str, Money | None] = {}
        self.journal = Journal()
        currency = self.default_settings.currency
        self.report = BatchReport(plan, [Outcome(item) for item in plan.items], currency,
                                  _budget_amount(budget, currency))
        self._budget: _Budget | None = None

    def settings(self, site: str | None) -> Settings:
        """The command's settings, or a line's own site's (its key and address, read once)."""
        if site is None:
            return self.default_settings
        if site not in self._settings:
            self._settings[site] = load_settings(site)
        return self._settings[site]

    def cancelled(self) -> bool:
        """Whether Ctrl-C stopped the batch (then no new item starts and every wait ends within a second)."""
        return self._cancel.is_set()

    def refuse(self, reason: str) -> BatchReport:
        """Run nothing: every item "not started" for ``reason`` (``--strict`` with a bad line)."""
        for outcome in self.report.outcomes:
            self._end(outcome, NOT_STARTED, error=reason)
        return self.report

    # --- running -------------------------------------------------------------------------
    def run(self) -> BatchReport:
        """Run every item; returns the report. Ctrl-C in the calling thread stops it: nothing new
        starts, waits end within a second, tasks keep running (a second Ctrl-C quits at once)."""
        from ..remote.api import RunningHubClient

        rows = self.journal.batch_rows(self.plan.tag(self.plan.items[0]).id) if self.plan.items else []
        with RunningHubClient(self.default_settings) as client:
            self._budget = _Budget(self.report.budget, rows, lambda row: spend.table_price_of(row.site, row.request))
            self._client = client
            self.report.workers = workers = self._workers(client)
            self._changed()
            with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="runninghub-batch") as pool:
                pending = {pool.submit(self._run_item, outcome) for outcome in self.report.outcomes}
                while pending:
                    try:
                        _, pending = wait(pending, timeout=current_waits().cancel_check_s,
                                          return_when=FIRST_COMPLETED)
                    except KeyboardInterrupt:  # Ctrl-C: stop starting and waiting (a second one quits)
                        if self._cancel.is_set():
                            raise
                        self._cancel.set()
                    if self.cancelled() and not self.report.interrupted:
                        self.report.interrupted = True
                        self._changed()
            if self.cancelled():
                self._drain_submits()
        self.report.contact_sheet = _contact_sheet(self.report)
        self._changed()
        return self.report

    def _workers(self, client) -> int:
        """The account's limit (queue/status), lowered by ``concurrency``; 1 if the limit is unknown."""
        from .slots import FALLBACK_LIMIT

        try:
            limit = max(1, int(client.queue_status().concurrent_limit))
        except (RunningHubError, ValueError, TypeError):
            limit = FALLBACK_LIMIT
        return max(1, min(limit, self.concurrency or limit, len(self.plan.items) or 1))

    def _run_item(self, outcome: Outcome) -> None:
        from .pipeline import generate

        item = outcome.item
        if self._stop_reason or self.cancelled():
            return self._end(outcome, NOT_STARTED, error=self._stop_reason or "the batch was stopped (Ctrl-C).")
        outcome.state, outcome.started = "starting", time.monotonic()
        self._changed()
        settings = self.settings(item.site)
        try:
            result = generate(list(item.images), item.request, videos=item.videos, audios=item.audios, **item.frames,
                              prepared=item.prepared, settings=settings, output_dir=item.output_dir, timeout_s=item.timeout_s,
                              variation=item.variation, on_progress=functools.partial(self._progress, outcome),
                              should_cancel=self.cancelled, batch=self.plan.tag(item),
                              admit=functools.partial(self._admit, outcome, settings))
        except (NotAdmitted, spend.BudgetExceededError) as exc:
            self._stop_reason = self._stop_reason or str(exc)
            return self._end(outcome, NOT_STARTED, error=str(exc))
        except AmbiguousSubmitError as exc:
            return self._end(outcome, AMBIGUOUS, error=str(exc), charged=None, row=self._row_of(outcome, settings))
        except Interrupted as exc:
            outcome.task_id = outcome.task_id or exc.task_id
            if not outcome.task_id:
                return self._end(outcome, NOT_STARTED, error="the batch was stopped (Ctrl-C) before this item "
                                                             "submitted anything.")
            return self._end(outcome, FAILED, error=f"stopped waiting (Ctrl-C): {exc}", charged=None,
                             row=self._row_of(outcome, settings))
        except RunningHubError as exc:
            outcome.task_id = outcome.task_id or exc.task_id
            row = self._row_of(outcome, settings)
            return self._end(outcome, FAILED, error=str(exc), charged=charged(row), row=row,
                             cost=row.cost if row is not None else None)
        except Exception as exc:  # a bug must not stop the other items
            return self._end(outcome, FAILED, error=f"{type(exc).__name__}: {exc}", charged=None)
        outcome.task_id, outcome.video_path = result.task_id, Path(result.video_path)
        self._end(outcome, SAVED, cost=result.cost, charged=True, row=self._row_of(outcome, settings))

    def _admit(self, outcome: Outcome, settings: Settings, row_id: int) -> None:
        """Just before an item's first upload: stop if cancelled or refused, else count its price."""
        if self._stop_reason:
            raise NotAdmitted(self._stop_reason)
        if self._budget is not None and self._budget.cap is not None:
            self._budget.admit(row_id, self._price(outcome.item, settings))

    def _end(self, outcome: Outcome, state: str, *, error: str = "", cost: Money | None = None,
             charged: bool | None = False, row: Row | None = None) -> None:
        outcome.state, outcome.error, outcome.cost, outcome.charged = state, error, cost, charged
        outcome.ended, outcome.eta_s = time.monotonic(), None
        if self._budget is not None:
            self._budget.settle(row)
        self._changed()

    def _progress(self, outcome: Outcome, event: ProgressEvent) -> None:
        state = {"slot": "starting", "upload": "starting", "submit": "starting", "queued": "queued",
                 "running": "running", "download": "downloading"}.get(event.phase)
        if event.task_id:
            outcome.task_id = event.task_id
        outcome.eta_s = event.eta_s
        if state and state != outcome.state:
            outcome.state = state
            self._changed()
        elif time.monotonic() - self._shown_at >= 1.0:  # the bar's figures (time left) move every second
            self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            with self._lock:
                self._shown_at = time.monotonic()
                self.on_change(self.report)

    # --- money ---------------------------------------------------------------------------
    def _price(self, item: Item, settings: Settings) -> Money | None:
        """The price of an item's request (price preview, else the published table) on its own site,
        asked once per model, mode, options and reference counts."""
        from ..remote.api import RunningHubClient

        request = item.request
        key = repr((settings.endpoint, request.model, request.mode, request.references,
                    sorted((k, str(v)) for k, v in request.options().items() if k != "prompt")))
        if key not in self._prices:
            if settings is self.default_settings:
                self._prices[key], _ = spend.run_price(self._client, settings.site, request)
            else:
                with RunningHubClient(settings) as client:
                    self._prices[key], _ = spend.run_price(client, settings.site, request)
        return self._prices[key]

    def _row_of(self, outcome: Outcome, settings: Settings) -> Row | None:
        return self.journal.get(outcome.task_id, endpoint=settings.endpoint) if outcome.task_id else None

    def _drain_submits(self) -> None:
        """After Ctrl-C, let submits already sent answer so their task ids are journaled (a later run
        resumes them rather than calling them ambiguous)."""
        deadline = time.monotonic() + SUBMIT_DRAIN_S
        while self.journal.submits_in_flight() and time.monotonic() < deadline:
            time.sleep(current_waits().claim_wait_s)


def _budget_amount(budget: str | float | None, currency: str) -> Money | None:
    if budget is None:
        return None
    from ..core.errors import ValidationError

    amount = money.parse(budget, currency)
    if amount is None:
        raise ValidationError(f"--budget must be an amount of money ≥ 0 in the site's currency ({currency}), "
                              f"not {budget!r}.")
    return amount


def _contact_sheet(report: BatchReport) -> Path | None:
    """The first frame of each saved video, labelled with its line, as one PNG beside the videos."""
    saved = [o for o in report.outcomes if o.state == SAVED and o.video_path and o.video_path.is_file()]
    if not saved:
        return None
    from ..media.sheet import labelled_sheet

    path = saved[0].video_path.with_name(f"{report.plan.path.stem}_contact_sheet.png")
    try:
        labelled_sheet([o.video_path for o in saved], [o.item.label for o in saved]).save(path)
    except (OSError, RunningHubError, ValueError):
        return None  # the videos are saved; a sheet that cannot be drawn is no reason to fail the batch
    return path
