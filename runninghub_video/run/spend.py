"""The spend guard: an optional daily budget per site, checked before a run uploads anything.

A run is refused when today's recorded spend on its site, plus the estimated price of today's
tasks that are still running (not charged yet), plus this run's price would pass the budget.
Runs claimed earlier that are still uploading count too (the journal claims a run before its
check, in every process): the nodes of one prompt run in parallel and must not all pass against
the same spend, so the earliest claim passes first. This run's price is RunningHub's price preview,
else the published table. Asking for a price never uploads anything. Budgets live in
``budget.json`` in the state folder; none is set by default.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..remote import config, facts, models
from ..core import money
from ..core.errors import RunningHubError, ValidationError
from ..core.files import write_atomically
from ..ledger.journal import UPLOADING, Journal, day_start
from ..core.money import Money, format_money
from ..remote.request import PREVIEW_PROMPT
from ..remote.wire import PricePreview

BUDGET_FILE = "budget.json"
MAX_BUDGET = 1_000_000


@dataclass(frozen=True)
class Day:
    """A site's day against its budget, in the site's currency."""
    site: str
    budget: Money | None  # None: no budget set
    spent: Money  # charged today, as RunningHub reported it
    charged_tasks: int
    running: Money  # published price of today's tasks that may still be charged
    running_tasks: int

    @property
    def currency(self) -> str:
        return self.spent.currency

    @property
    def committed(self) -> Money:
        return self.spent + self.running

    def as_json(self) -> dict:
        """The budget route's answer (js/inbox.js): amounts as numbers beside their currency."""
        return {"site": self.site, "currency": self.currency,
                "budget": None if self.budget is None else self.budget.number(), "spent": self.spent.number(),
                "charged_tasks": self.charged_tasks, "running": self.running.number(),
                "running_tasks": self.running_tasks}


class BudgetExceededError(RunningHubError):
    """The run would pass the site's daily budget: refused before any upload, nothing charged.
    ``day``: the site's figures; ``price``: this run's (None when unknown), from ``price_source``."""

    code = "budget"

    def __init__(self, message: str, *, day: Day, price: Money | None, price_source: str) -> None:
        super().__init__(message, advice="Raise or turn off the daily budget in Settings → RunningHub, "
                                         "or run it tomorrow.")
        self.day, self.price, self.price_source = day, price, price_source


# --- the budgets ---------------------------------------------------------------------------
def budget_path() -> Path:
    return config.state_dir() / BUDGET_FILE


def daily_budgets() -> dict[str, Money]:
    """Site → daily budget in the site's currency, for the sites that have one."""
    try:
        data = json.loads(budget_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    daily = data.get("daily") if isinstance(data, dict) else None
    if not isinstance(daily, dict):
        return {}
    budgets = {site: money.parse(value, facts.SITE_CURRENCY[site]) for site, value in daily.items()
               if site in facts.SITES and isinstance(value, (int, float))}
    return {site: budget for site, budget in budgets.items() if budget is not None}


def set_daily_budget(site: str, amount: Any) -> dict[str, Money]:
    """Set (an amount ≥ 0) or turn off (None or "") the daily budget of ``site``; returns all budgets."""
    config.check_site(site)
    budgets = daily_budgets()
    if amount is None or amount == "":
        budgets.pop(site, None)
    else:
        budget = None if isinstance(amount, bool) else money.parse(amount, facts.SITE_CURRENCY[site])
        if budget is None or budget.amount > MAX_BUDGET:
            raise ValidationError(f"A daily budget is an amount from 0 to {MAX_BUDGET} in the site's currency "
                                  f"({facts.SITE_CURRENCY[site]}), or empty for none; got {amount!r}.")
        budgets[site] = Money(budget.amount.quantize(Decimal("0.0001")), budget.currency)
    path = budget_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {site: float(budget.amount) for site, budget in budgets.items()}  # a plain number in the file
    write_atomically(path, lambda f: f.write(json.dumps({"daily": stored}, indent=2).encode("utf-8")), private=True)
    return budgets


def status(site: str, journal=None, now: float | None = None, *, own_row: int | None = None) -> Day:
    """The figures of a site's day: budget (None = off), spent, still-running estimate.

    ``own_row``: the journal claim of the run being checked (left out, as are runs claimed after it)."""
    config.check_site(site)
    journal = journal or Journal()
    now = time.time() if now is None else now
    currency = facts.SITE_CURRENCY[site]
    spent, charged = journal.charged(day_start(now)).get((site, currency), (Money.zero(currency), 0))
    running, unpriced = _running_estimate(site, journal, now, own_row)
    return Day(site, daily_budgets().get(site), spent, charged, running, unpriced)


def _running_estimate(site: str, journal: Journal, now: float, own_row: int | None) -> tuple[Money, int]:
    """Published price of today's tasks that may still be charged (0 where no table is known): those
    submitted or running, and runs claimed before ``own_row`` that are still uploading."""
    prices, count = [], 0
    for row in journal.uncharged(site, day_start(now), now):
        if own_row is not None and (row.id == own_row or (row.state == UPLOADING and row.id > own_row)):
            continue  # this run, or one claimed after it (that one is checked against this one)
        prices.append(table_price_of(site, row.request))
        count += 1
    return money.total(prices, facts.SITE_CURRENCY[site]), count


def table_price_of(site: str, request: dict) -> Money | None:
    """The published price of a journal row's request (its stored options), or None where unknown."""
    model = models.MODELS.get(str(request.get("model") or ""), models.V1_LITE)  # rows before 2.0: v1-lite
    if str(request.get("duration")) not in model.choices("duration"):
        return None
    return facts.table_price(site, str(request.get("resolution", "")), request["duration"], model)


# --- the price of one run ------------------------------------------------------------------
def preview_price(client, request) -> PricePreview:
    """RunningHub's price preview for a validated request's model and options (its price may be
    None). Uploads nothing (see :func:`_stand_in_reference`)."""
    preview = dataclasses.replace(request, prompt=PREVIEW_PROMPT, last_frame=False)
    return client.price_preview(preview.body([_stand_in_reference(client.settings.base_url)]),
                                request.spec.price_preview_path)


def _stand_in_reference(base_url: str) -> str:
    """The reference URL sent with a price preview, which takes a whole submit body.

    A price depends only on model, duration and resolution, and the model's URL fields accept any
    https URL [S], so an address on the site itself stands in for a reference: nothing is put
    into the user's RunningHub storage to learn a price. Whether the real preview fetches or
    checks that URL is unknown [U]; if it refuses it, every caller falls back to the published
    table (and the budget then refuses a run whose price stays unknown)."""
    return f"https://{urlsplit(base_url).netloc}/favicon.ico"


def run_price(client, site: str, request) -> tuple[Money | None, str]:
    """This run's price and where it came from ("preview", "table"), or (None, "none")."""
    table = facts.table_price(site, request.resolution, request.duration, request.spec)
    try:
        preview = preview_price(client, request).price
    except RunningHubError:
        preview = None  # the table (if any) still guards the budget
    if preview is not None:
        return preview, "preview"
    if table is not None:
        return table, "table"
    return None, "none"


def check_budget(client, site: str, request, journal=None, now: float | None = None, *,
                 row_id: int | None = None) -> None:
    """Refuse (BudgetExceededError) a run that would pass the site's daily budget; no budget: no-op.

    Called by the pipeline after its journal claim (``row_id``) found nothing to reuse, before any upload."""
    budget = daily_budgets().get(site)
    if budget is None:
        return
    price, source = run_price(client, site, request)
    day = status(site, journal, now, own_row=row_id)
    refuse = functools.partial(BudgetExceededError, day=day, price=price, price_source=source)
    if price is None:
        raise refuse(f"The price of this run is unknown (no price preview, no published price for .{site}), so it "
                     f"cannot be checked against your daily budget of {format_money(budget)}. Nothing was "
                     "uploaded or charged.")
    if (day.committed + price).amount > budget.amount:
        running = (f" + {format_money(day.running)} estimated for {day.running_tasks} task(s) still running"
                   if day.running_tasks else "")
        raise refuse(f"Refused before uploading anything: this run costs {format_money(price)} "
                     f"({'price preview' if source == 'preview' else 'published price'}); spent today on .{site}: "
                     f"{format_money(day.spent)}{running}. Together that passes your daily budget of "
                     f"{format_money(budget)}.")
